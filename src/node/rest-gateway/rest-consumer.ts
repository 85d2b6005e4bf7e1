import { randomUUID, type X509Certificate } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { decodeJwt } from 'jose';
import { request } from 'undici';
import { ApiError, DeliveryError, TramiteError } from '../../core/errors.js';
import type { RestServiceConfig } from '../../config/config-types.js';
import { readBoundedBody } from '../../core/bounded-body.js';
import type { PeerClient } from '../peer-client/peer-client.js';
import { buildModiRestRequestHeaders } from '../../../envelopes/modi-rest/rest-message-headers.js';
import { verifyModiRestMessage, type VerifiedModiRest } from '../../../envelopes/modi-rest/rest-message-verify.js';
import { ModiRestError } from '../../../envelopes/modi-rest/modi-rest-error.js';
import type { RestTokenClaims } from '../../../envelopes/modi-rest/rest-token-verify.js';
import { auditDataFrom } from './audit-data.js';
import { urlBelow } from './api-path.js';
import { declaredPatterns } from './declared-patterns.js';
import { modiHeaders, requestHeadersToForward, responseHeadersToReturn, type HeaderList } from './forwarded-headers.js';
import { problemAnswer, type GatewayAnswer } from './gateway-answer.js';
import { headersForLog, loggedRequest, loggedResponse } from './logged-http.js';
import { pdndSigningKey, x509SigningKey } from './rest-signing-keys.js';
import { checkRevocation, describeVerified } from './verified-message.js';
import type { GatewaySideDeps } from './gateway-side-deps.js';

/** The request as it went to the provider: what the log keeps of it. */
interface SignedCall {
  readonly method: string;
  /** Path and query on the provider. */
  readonly target: string;
  readonly headers: HeaderList;
  readonly body: Buffer;
  /** Authorization carries a PDND voucher (logged redacted). */
  readonly voucher: boolean;
}

/** The provider's answer as received: its headers as undici gives them (a value or an array per name) and its exact body. */
interface ProviderAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** A back office's call to a REST API provided on a peer: `/rest/out/{provider}/{name}/{version}{path}`. */
export interface OutboundRestCall {
  /** The parties the caller's token acts for. */
  readonly callerParties: ReadonlySet<string>;
  /** Tramite-Party: which of them calls, when the token acts for several. */
  readonly party?: string | undefined;
  readonly provider: string;
  readonly name: string;
  readonly version: string;
  readonly method: string;
  /** What follows the version in the path, with the query: "" or "/residenti/RSSMRA80A01H501U?full=1". */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface RestConsumerDeps extends GatewaySideDeps {
  readonly peers: PeerClient;
  /** Longest a whole call to the provider may take (node.http.requestTimeoutMs). */
  readonly timeoutMs: number;
}

/**
 * Fruizione: signs a back office's request with its party's ModI tokens (and a PDND voucher when the
 * API needs one), forwards it to the provider over the peer client, verifies the signed response
 * (bound to the request's Digest), logs both in the message log and answers. A refusal by the
 * provider's gateway (an unsigned 4xx/5xx) is passed back as it came; a response that breaks the
 * profile becomes 502 InteroperabilityInvalidResponse.
 */
export class RestConsumer {
  constructor(private readonly deps: RestConsumerDeps) {}

  async call(call: OutboundRestCall): Promise<GatewayAnswer> {
    const { deps } = this;
    const createdAt = deps.clock.now();
    const id = randomUUID();
    let api: RestServiceConfig | undefined;
    let party: string | undefined;
    const facts: Record<string, unknown> = { method: call.method };
    let forwarded: SignedCall | undefined;
    let response: ProviderAnswer | undefined;
    let direction: 'request' | 'response' = 'request';
    try {
      api = deps.directory.consumed(call.provider, call.name, call.version);
      party = this.callingParty(call, api);
      if (call.body.length > api.api.maxBodyBytes)
        throw new ApiError(
          'TRAMITE_ERR_REST_BODY_TOO_LARGE',
          413,
          `the body has ${call.body.length} bytes; ${api.name} takes at most ${api.api.maxBodyBytes}`,
        );
      const url = urlBelow(api.api.url!, call.path);
      const sent = await this.sign(call, api, party, facts, url);
      forwarded = sent;
      const res = await this.forward(url, call.method, sent.headers, sent.body, api.api.maxBodyBytes);
      response = res;
      facts['httpStatus'] = res.status;
      direction = 'response';
      const verified = await this.verifyResponse(res, api, party, sent.digest, sent.issuer);
      if (verified) facts['response'] = describeVerified(verified);
      else if (res.status >= 400) facts['providerRefusal'] = problemTitle(res);
      const answer: GatewayAnswer = {
        status: res.status,
        headers: [
          ...responseHeadersToReturn(res.headers),
          ['tramite-exchange-id', id],
          // What the back office may rely on: a verified signature of the provider, or not (an unsigned refusal, or an API with no INTEGRITY pattern).
          ['tramite-response-verified', verified ? 'true' : 'false'],
        ],
        body: res.body,
      };
      const failed = !verified && res.status >= 400;
      await this.record(id, api, party, createdAt, failed ? 'FAILED' : 'DELIVERED', forwarded, response, {
        ...facts,
        ...(failed ? { error: { code: 'TRAMITE_ERR_REST_PROVIDER_REFUSED', message: `the provider answered HTTP ${res.status}` } } : {}),
      });
      this.trace(api, party, facts, res.status);
      return answer;
    } catch (err) {
      const answer = problemAnswer(err, { direction, disclose: true });
      deps.log.warn(
        { exchange: id, api: api?.name, party, code: answer.code, err: (err as Error).message },
        direction === 'response' ? 'REST response refused' : 'REST call failed',
      );
      if (api && party)
        await this.record(id, api, party, createdAt, 'FAILED', forwarded, response, {
          ...facts,
          error: { code: answer.code, message: (err as Error).message },
        }).catch((logErr: unknown) => deps.log.error({ exchange: id, err: (logErr as Error).message }, 'REST exchange not logged'));
      if (api && party && facts['voucherJti']) this.trace(api, party, facts, answer.status);
      return { status: answer.status, headers: [...answer.headers, ['tramite-exchange-id', id]], body: answer.body };
    }
  }

  /** The hosted party the call is made for: the token's one party, or the one Tramite-Party names; it must be a consumer of the API. */
  private callingParty(call: OutboundRestCall, api: RestServiceConfig): string {
    const parties = [...call.callerParties];
    const party = call.party ?? (parties.length === 1 ? parties[0] : undefined);
    if (party === undefined || !call.callerParties.has(party))
      throw new ApiError(
        'TRAMITE_ERR_REST_PARTY_AMBIGUOUS',
        400,
        call.party === undefined
          ? `this token acts for ${parties.join(', ')}: say which one calls with the Tramite-Party header`
          : `this token does not act for ${call.party}`,
      );
    if (api.consumers && !api.consumers.includes(party))
      throw new ApiError(
        'TRAMITE_ERR_REST_NOT_CONSUMER',
        403,
        `${party} is not among the consumers of ${api.name} ${api.api.version} of ${api.provider}`,
      );
    return party;
  }

  /** The request's headers: those passed on from the caller, the ModI tokens, and the voucher. */
  private async sign(call: OutboundRestCall, api: RestServiceConfig, party: string, facts: Record<string, unknown>, url: string) {
    const { deps } = this;
    const declared = declaredPatterns(api.api);
    const hosted = deps.registry.current().hostedParty(party)!;
    const passed = requestHeadersToForward(call.headers);
    const contentHeaders = Object.fromEntries(passed.filter(([n]) => n === 'content-type' || n === 'content-encoding'));
    const pdndKey = hosted.pdnd?.client;
    const byKid = declared.integrity === 'INTEGRITY_REST_02';
    if ((byKid || declared.audit === 'AUDIT_REST_02') && !pdndKey)
      throw new ApiError(
        'TRAMITE_ERR_PDND_TOKEN_REQUEST',
        502,
        `${party} has no PDND client (parties[].pdnd) to sign ${api.name}'s tokens with`,
      );
    const x509 = x509SigningKey(hosted.identity);
    const key = byKid ? pdndSigningKey(pdndKey!) : x509;
    const issuer = byKid ? pdndKey!.clientId : party;
    const audit = declared.audit
      ? auditDataFrom(call.headers['tramite-audit'], declared.audit, api.api.audit.claims, api.api.pdnd?.purposeId)
      : undefined;
    const signed = await buildModiRestRequestHeaders(
      {
        audience: api.api.audience,
        issuer,
        subject: issuer,
        now: deps.clock.now(),
        ttlSeconds: api.api.tokenLifetimeSeconds,
        body: call.body,
        headers: contentHeaders,
        signEmptyBody: declared.emptyRequestBody !== 'refuse',
      },
      {
        ...(declared.voucher ? {} : { idAuth: declared.idAuth }),
        ...(declared.integrity ? { integrity: declared.integrity } : {}),
        ...(audit ? { audit } : {}),
      },
      key,
      declared.audit === 'AUDIT_REST_02' ? pdndSigningKey(pdndKey!) : x509,
    );
    const headers: HeaderList = [...passed.filter(([n]) => n !== 'content-type' && n !== 'content-encoding')];
    for (const [n, v] of Object.entries(signed.headers)) headers.push([n.toLowerCase(), v]);
    facts['patterns'] = api.api.profiles;
    if (signed.tokens.authorization) facts['authorizationJti'] = decodeJwt(signed.tokens.authorization).jti;
    if (signed.tokens.signature) facts['signatureJti'] = decodeJwt(signed.tokens.signature).jti;
    if (signed.tokens.trackingEvidence) facts['auditJti'] = decodeJwt(signed.tokens.trackingEvidence).jti;
    if (api.api.pdnd) {
      if (!deps.pdnd) throw new ApiError('TRAMITE_ERR_PDND_TOKEN_REQUEST', 502, 'no PDND is configured (top-level pdnd)');
      const voucher = await deps.pdnd.voucher(party, api.api.pdnd.purposeId, signed.auditDigest);
      headers.push(['authorization', `Bearer ${voucher.token}`]);
      facts['purposeId'] = api.api.pdnd.purposeId;
      facts['voucherJti'] = voucher.jti;
      facts['clientId'] = hosted.pdnd!.client.clientId;
    }
    return {
      method: call.method,
      target: `${new URL(url).pathname}${new URL(url).search}`,
      headers,
      body: call.body,
      voucher: declared.voucher,
      digest: signed.digest,
      issuer,
    };
  }

  private async forward(url: string, method: string, headers: HeaderList, body: Buffer, maxBytes: number) {
    const { deps } = this;
    try {
      const res = await request(url, {
        dispatcher: deps.peers.agentFor(url),
        method: method as 'GET',
        headers: headers.flat(),
        ...(body.length > 0 ? { body } : {}),
        // The whole exchange within the node's request timeout: a provider that drips its answer cannot hold the call.
        signal: AbortSignal.timeout(this.deps.timeoutMs),
      });
      const bytes = await readBoundedBody(res.body, {
        maxBytes,
        source: `provider at ${url}`,
        declaredLength: res.headers['content-length'],
      });
      return { status: res.statusCode, headers: res.headers, body: bytes };
    } catch (cause) {
      if (cause instanceof TramiteError) throw cause;
      throw new DeliveryError('TRAMITE_ERR_PEER_UNREACHABLE', `the provider at ${url} could not be reached: ${(cause as Error).message}`, {
        retriable: true,
        cause,
      });
    }
  }

  /**
   * The provider's response against the API's integrity pattern: signed by the provider party, for us
   * (aud = our issuer), bound to our request's Digest. An unsigned error answer is the provider's
   * gateway refusing us: passed back, not verified (undefined).
   */
  private async verifyResponse(
    res: ProviderAnswer,
    api: RestServiceConfig,
    party: string,
    requestDigest: string | undefined,
    issuer: string,
  ): Promise<VerifiedModiRest | undefined> {
    const { deps } = this;
    const declared = declaredPatterns(api.api);
    if (!declared.integrity) return undefined;
    const signed = res.headers['agid-jwt-signature'] !== undefined;
    if (!signed && res.status >= 400) return undefined;
    const verified = await verifyModiRestMessage(
      { headers: res.headers, body: res.body },
      {
        integrity: declared.integrity,
        ...(requestDigest !== undefined ? { requestDigest } : {}),
        emptyBody: requestDigest !== undefined ? 'require' : api.api.emptyBody,
      },
      {
        at: deps.clock.now(),
        skewSeconds: deps.skewSeconds,
        audience: issuer,
        trust: deps.registry.current().trustForParty(api.provider),
        ...(declared.integrity === 'INTEGRITY_REST_02' && deps.pdnd
          ? {
              keyByKid: (kid: string) => deps.pdnd!.keysFor(party).keyByKid(kid),
              // Signed by the provider's own PDND client (as configured), not by any key PDND knows — ours included.
              bindKid: async (kid: string, claims: RestTokenClaims) => {
                const provider = api.api.pdnd?.providerClientId;
                if (provider === undefined || claims.iss !== provider || !(await deps.pdnd!.keysFor(party).isKeyOf(provider, kid)))
                  throw new ModiRestError(
                    'TRAMITE_ERR_MODI_REST_BINDING',
                    'Agid-JWT-Signature',
                    `the response is signed with PDND key ${kid} for ${String(claims.iss)}, not by the provider's client ${provider ?? '(not configured)'}`,
                  );
              },
            }
          : {}),
        bindSigner: (cert: X509Certificate) => {
          if (!deps.registry.current().signerIsParty(cert, api.provider))
            throw new ModiRestError(
              'TRAMITE_ERR_MODI_REST_BINDING',
              'Agid-JWT-Signature',
              `the response is signed by ${cert.subject.replace(/\n/g, ', ')}, not by ${api.provider}`,
            );
        },
        replay: deps.replay,
      },
    );
    await checkRevocation(deps.revocation, verified, 'REST response signer');
    return verified;
  }

  private async record(
    id: string,
    api: RestServiceConfig,
    party: string,
    createdAt: Date,
    status: 'DELIVERED' | 'FAILED',
    sent: SignedCall | undefined,
    response: ProviderAnswer | undefined,
    detail: Record<string, unknown>,
  ): Promise<void> {
    await this.deps.exchanges.recordRestExchange({
      id,
      direction: 'out',
      from: party,
      to: api.provider,
      service: api.name,
      version: api.api.version,
      createdAt: createdAt.toISOString(),
      status,
      request: sent
        ? loggedRequest(sent.method, sent.target, headersForLog(sent.headers, sent.voucher), sent.body)
        : loggedRequest(String(detail['method']), '', [], new Uint8Array()),
      ...(response
        ? {
            response: loggedResponse(
              response.status,
              headersForLog([...responseHeadersToReturn(response.headers), ...modiHeaders(response.headers)], false),
              response.body,
            ),
          }
        : {}),
      detail,
    });
  }

  private trace(api: RestServiceConfig, party: string, facts: Record<string, unknown>, status: number): void {
    const { pdnd } = this.deps;
    const tenant = pdnd?.tenantOf(party);
    if (!pdnd || !tenant || !api.api.pdnd || typeof facts['voucherJti'] !== 'string') return;
    // Not awaited: the exchange is answered whatever the count; a count the store refused is told.
    void pdnd.ledger
      .record({ tenant, at: this.deps.clock.now(), purposeId: api.api.pdnd.purposeId, status, voucherJti: facts['voucherJti'] })
      .catch((err: unknown) =>
        this.deps.log.warn({ tenant, err: (err as Error).message }, 'PDND traffic not counted in the tracing ledger'),
      );
  }
}

function problemTitle(res: ProviderAnswer): string | undefined {
  if (!/json/.test(String(res.headers['content-type'] ?? ''))) return undefined;
  try {
    const p = JSON.parse(res.body.toString('utf8')) as { title?: unknown };
    return typeof p.title === 'string' ? p.title.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}
