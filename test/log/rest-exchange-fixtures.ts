/**
 * REST exchanges to log, with real ModI tokens built by envelopes/modi-rest from the shared test PKI
 * (certificates valid around today): a fruizione (ComuneA calls the Regione: ID_AUTH_REST_02 +
 * INTEGRITY_REST_01 + AUDIT_REST_01, the response signed back with request_digest) and an erogazione
 * (a PDND client calls ComuneA: a voucher in Authorization, redacted as the gateway logs it,
 * INTEGRITY_REST_01 with x5c and AUDIT_REST_02 signed with a PDND kid).
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { buildModiRestRequestHeaders, buildModiRestResponseHeaders } from '../../envelopes/modi-rest/rest-message-headers.js';
import type { RestSigningKey } from '../../envelopes/modi-rest/jws-signing.js';
import type { LoggedHttpMessage, RestExchange } from '../../src/core/rest-exchange.js';
import { getTestPki, type TestSigner } from '../fixtures/test-pki.js';

export const COMUNE = 'SPC/ComuneA';
export const REGIONE = 'SPC/Regione';
export const PDND_CLIENT = 'pdnd-client-5b1c';
const AUD_REGIONE = 'https://regione.example.it/rest/in/Anagrafe/v1';
const AUD_COMUNE = 'https://comune.example.it/rest/in/Tributi/v1';

export const REQUEST_BODY = Buffer.from('{"codiceFiscale":"RSSMRA80A01H501U","richiesta":"residenza"}');
export const RESPONSE_BODY = Buffer.from('{"residente":true,"comune":"Ortona"}');

const x509 = (signer: TestSigner): RestSigningKey => ({ privateKey: signer.privateKey, alg: 'RS256', certificates: [signer.certificate] });

let pdnd: { kid: string; key: RestSigningKey } | undefined;
function pdndKey(): RestSigningKey {
  pdnd ??= (() => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return { kid: 'pdnd-kid-7f3a', key: { privateKey, alg: 'RS256', kid: 'pdnd-kid-7f3a' } as RestSigningKey };
  })();
  return pdnd.key;
}

/** Header record → the logged list: names lower-case, in order. */
function headerList(headers: Record<string, string>): Array<[string, string]> {
  return Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]);
}

export interface ExchangeOptions {
  readonly createdAt: Date;
  /** When the response was signed (default: a second after the request). */
  readonly respondedAt?: Date;
  readonly withResponse?: boolean;
  readonly status?: RestExchange['status'];
  readonly detail?: Record<string, unknown>;
  /** Facts to change (another provider, say), laid over the exchange as built. */
  readonly over?: Partial<RestExchange>;
}

/** A fruizione: ComuneA's back office called the Regione's Anagrafe v1 through this node. */
export async function outboundExchange(opts: ExchangeOptions): Promise<RestExchange> {
  const { comuneA, regione } = getTestPki();
  const req = await buildModiRestRequestHeaders(
    {
      audience: AUD_REGIONE,
      issuer: COMUNE,
      subject: COMUNE,
      now: opts.createdAt,
      ttlSeconds: 300,
      body: REQUEST_BODY,
      headers: { 'Content-Type': 'application/json' },
    },
    {
      idAuth: 'ID_AUTH_REST_02',
      integrity: 'INTEGRITY_REST_01',
      audit: { pattern: 'AUDIT_REST_01', claims: { userID: 'op-17', userLocation: 'sportello-2', LoA: 'LoA3' }, purposeId: 'purpose-1' },
    },
    x509(comuneA),
  );
  const request: LoggedHttpMessage = {
    method: 'POST',
    target: '/rest/Anagrafe/v1/residenti?cf=RSSMRA80A01H501U',
    headers: [['host', 'regione.example.it'], ...headerList(req.headers), ['content-length', String(REQUEST_BODY.length)]],
    body: REQUEST_BODY,
  };
  const response = opts.withResponse === false ? undefined : await signedResponse(regione, AUD_REGIONE, req.digest!, opts);
  return {
    id: randomUUID(),
    direction: 'out',
    from: COMUNE,
    to: REGIONE,
    service: 'Anagrafe',
    version: 'v1',
    createdAt: opts.createdAt.toISOString(),
    status: opts.status ?? (response ? 'DELIVERED' : 'FAILED'),
    request,
    ...(response ? { response } : {}),
    detail: opts.detail ?? {
      patterns: ['ID_AUTH_REST_02', 'INTEGRITY_REST_01', 'AUDIT_REST_01'],
      jti: req.tokens.authorization?.slice(-8),
    },
    ...opts.over,
  };
}

/** An erogazione: a consumer known by its PDND client id called ComuneA's Tributi v1, with a voucher. */
export async function inboundExchange(opts: ExchangeOptions): Promise<RestExchange> {
  const { comuneA, regione } = getTestPki();
  const iat = Math.floor(opts.createdAt.getTime() / 1000);
  const voucher = await new SignJWT({ purposeId: 'purpose-9', client_id: PDND_CLIENT })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'pdnd-kid-7f3a' })
    .setIssuedAt(iat)
    .setExpirationTime(iat + 600)
    .setAudience(AUD_COMUNE)
    .setIssuer('uat.interop.pagopa.it')
    .setJti(randomUUID())
    .sign(pdndKey().privateKey as import('node:crypto').KeyObject);
  // As the gateway logs it: header and claims kept, the signature replaced.
  const redacted = `${voucher.split('.').slice(0, 2).join('.')}.REDACTED`;
  const req = await buildModiRestRequestHeaders(
    { audience: AUD_COMUNE, now: opts.createdAt, ttlSeconds: 300, body: REQUEST_BODY, headers: { 'Content-Type': 'application/json' } },
    {
      integrity: 'INTEGRITY_REST_01',
      audit: { pattern: 'AUDIT_REST_02', claims: { userID: 'op-3', userLocation: 'ufficio', LoA: 'LoA2' }, purposeId: 'purpose-9' },
    },
    x509(regione),
    pdndKey(),
  );
  const request: LoggedHttpMessage = {
    method: 'PUT',
    target: '/rest/in/Tributi/v1/posizioni/42',
    headers: [['authorization', `Bearer ${redacted}`], ...headerList(req.headers)],
    body: REQUEST_BODY,
  };
  const response = opts.withResponse === false ? undefined : await signedResponse(comuneA, AUD_COMUNE, req.digest!, opts);
  return {
    id: randomUUID(),
    direction: 'in',
    from: PDND_CLIENT,
    to: COMUNE,
    service: 'Tributi',
    version: 'v1',
    createdAt: opts.createdAt.toISOString(),
    status: opts.status ?? (response ? 'DISPATCHED' : 'FAILED'),
    request,
    ...(response ? { response } : {}),
    detail: opts.detail ?? {
      patterns: ['ID_AUTH_REST_01', 'INTEGRITY_REST_01', 'AUDIT_REST_02'],
      purposeId: 'purpose-9',
      clientId: PDND_CLIENT,
    },
  };
}

async function signedResponse(
  signer: TestSigner,
  audience: string,
  requestDigest: string,
  opts: ExchangeOptions,
): Promise<LoggedHttpMessage> {
  const now = opts.respondedAt ?? new Date(opts.createdAt.getTime() + 1000);
  const res = await buildModiRestResponseHeaders(
    { audience, now, ttlSeconds: 300, body: RESPONSE_BODY, headers: { 'Content-Type': 'application/json' } },
    { idAuth: 'ID_AUTH_REST_02', integrity: 'INTEGRITY_REST_01', requestDigest },
    x509(signer),
  );
  return { status: 200, headers: headerList(res.headers), body: RESPONSE_BODY };
}
