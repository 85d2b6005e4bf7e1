/**
 * ModI REST refusals (issue 16, point 7) against a real provider node: requests built as a consumer's
 * gateway builds them (the Comune's own key and certificate, a voucher from the PDND simulator) are sent
 * straight to the Regione's /rest/in/…, each with exactly one thing broken. Every refusal is the
 * guidelines' problem+json with its precise code (the fixture's APIs disclose it), never reaches the
 * Regione's back office, and is in the Regione's message log as a FAILED REST exchange with that code.
 */
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { base64url, CompactSign, decodeProtectedHeader, type CompactJWSHeaderParameters } from 'jose';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDevPki } from '../../src/crypto/dev-pki.js';
import type { RestSigningKey } from '../../envelopes/modi-rest/jws-signing.js';
import { buildModiRestRequestHeaders } from '../../envelopes/modi-rest/rest-message-headers.js';
import {
  ANAGRAFE_AUDIENCE,
  KEYS,
  ORTONA,
  ortonaIdentity,
  ortonaVoucher,
  REGIONE,
  SANITA_AUDIENCE,
  sendRest,
  startRestFederation,
  type RestFederation,
} from './rest-gateway-fixture.js';

const CF = 'RSSMRA85T10A562S';
const TRIBUTI_AUDIENCE = 'https://regione.example/tributi/v1';
const TTL = 300;

let fed: RestFederation;
let otherPki: string;
/** The Comune's signing key as its node uses it: its certificate in x5c. */
let ortona: RestSigningKey;
/** A voucher for purpose-anagrafe (reusable until it expires, as a gateway caches it). */
let anagrafeVoucher: string;
/** Each refusal's exchange id (Tramite-Exchange-Id) and code, for the message-log test. */
const refusals: Array<{ id: string; code: string }> = [];

interface Crafted {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: Uint8Array;
}

function signingKey(privateKey: KeyObject, certificates: readonly X509Certificate[]): RestSigningKey {
  return { privateKey, alg: privateKey.asymmetricKeyType === 'ec' ? 'ES256' : 'RS256', certificates };
}

const pemKey = (file: string) => createPrivateKey(readFileSync(file, 'utf8'));
const pemCert = (file: string) => new X509Certificate(readFileSync(file));

beforeAll(async () => {
  fed = await startRestFederation('rest-refusals', () => 'http://127.0.0.1:9/unused');
  const id = ortonaIdentity(fed.nodes.cst);
  ortona = signingKey(createPrivateKey(id.privateKey), [id.certificate]);
  anagrafeVoucher = await ortonaVoucher(fed.pdnd, 'purpose-anagrafe');
  otherPki = mkdtempSync(join(tmpdir(), 'tramite-other-pki-'));
}, 60_000);

afterAll(async () => {
  await fed?.close();
  if (otherPki) rmSync(otherPki, { recursive: true, force: true });
});

/**
 * anagrafe (ID_AUTH_REST_02 via PDND + INTEGRITY_REST_01): the voucher in Authorization and an
 * Agid-JWT-Signature from the Comune's certificate on every request, empty or not (its jti is the message's).
 */
async function anagrafeRequest(
  opts: { key?: RestSigningKey; now?: Date; ttlSeconds?: number; voucher?: string; body?: string; contentType?: string } = {},
): Promise<Crafted> {
  const body = opts.body !== undefined ? Buffer.from(opts.body, 'utf8') : undefined;
  const signed = await buildModiRestRequestHeaders(
    {
      audience: ANAGRAFE_AUDIENCE,
      issuer: ORTONA,
      subject: ORTONA,
      now: opts.now ?? new Date(),
      ttlSeconds: opts.ttlSeconds ?? TTL,
      ...(body ? { body, headers: { 'Content-Type': opts.contentType ?? 'application/json' } } : {}),
      signEmptyBody: true,
    },
    { integrity: 'INTEGRITY_REST_01' },
    opts.key ?? ortona,
  );
  return {
    method: body ? 'POST' : 'GET',
    path: body ? `/rest/in/anagrafe/v1/residenti/${CF}/certificati` : `/rest/in/anagrafe/v1/residenti/${CF}`,
    headers: { ...signed.headers, Authorization: `Bearer ${opts.voucher ?? anagrafeVoucher}` },
    ...(body ? { body } : {}),
  };
}

/** tributi (ID_AUTH_REST_01, no PDND): the Comune's own token in Authorization. */
async function tributiRequest(key: RestSigningKey = ortona): Promise<Crafted> {
  const signed = await buildModiRestRequestHeaders(
    { audience: TRIBUTI_AUDIENCE, issuer: ORTONA, subject: ORTONA, now: new Date(), ttlSeconds: TTL },
    { idAuth: 'ID_AUTH_REST_01' },
    key,
  );
  return { method: 'GET', path: `/rest/in/tributi/v1/residenti/${CF}`, headers: signed.headers };
}

/**
 * sanita (ID_AUTH_REST_01 via PDND + INTEGRITY_REST_02 + AUDIT_REST_02): tokens signed with the Comune's
 * PDND key by kid, the voucher asked for with the audit token's digest. `integrityKid` names the key the
 * integrity token claims to be signed with.
 */
async function sanitaRequest(integrityKid = 'kid-ortona', integrityKey: KeyObject = KEYS.ortona.privateKey): Promise<Crafted> {
  const body = Buffer.from(JSON.stringify({ motivo: 'esenzione' }), 'utf8');
  const pdndKey = (kid: string): RestSigningKey => ({ privateKey: KEYS.ortona.privateKey, alg: 'RS256', kid });
  const signed = await buildModiRestRequestHeaders(
    {
      audience: SANITA_AUDIENCE,
      issuer: 'comune-ortona',
      subject: 'comune-ortona',
      now: new Date(),
      ttlSeconds: TTL,
      body,
      headers: { 'Content-Type': 'application/json' },
    },
    {
      integrity: 'INTEGRITY_REST_02',
      audit: {
        pattern: 'AUDIT_REST_02',
        claims: { userID: 'mario.rossi', userLocation: 'sportello-3', LoA: 'LoA3' },
        purposeId: 'purpose-sanita',
      },
    },
    { privateKey: integrityKey, alg: 'RS256', kid: integrityKid },
    pdndKey('kid-ortona'),
  );
  const voucher = await ortonaVoucher(fed.pdnd, 'purpose-sanita', signed.auditDigest);
  return {
    method: 'POST',
    path: `/rest/in/sanita/v1/residenti/${CF}/certificati`,
    headers: { ...signed.headers, Authorization: `Bearer ${voucher}` },
    body,
  };
}

const send = (r: Crafted) => sendRest(fed.nodes.regione, r.method, r.path, r.headers, r.body);

/** The well-formed twin: accepted, and it reached the back office. */
async function expectAccepted(r: Crafted, status = r.method === 'POST' ? 201 : 200): Promise<void> {
  const before = fed.api.received.length;
  const res = await send(r);
  expect(res.status, JSON.stringify(res.headers)).toBe(status);
  expect(fed.api.received.length).toBe(before + 1);
}

/** Refused with the guidelines' status and title and the precise code; the back office saw nothing. */
async function expectRefused(r: Crafted, code: string, replay = false): Promise<void> {
  const before = fed.api.received.length;
  const res = await send(r);
  const problem = res.json();
  expect(problem, JSON.stringify(problem)).toMatchObject({
    status: replay ? 409 : 400,
    title: replay ? 'Conflict' : 'InteroperabilityInvalidRequest',
    code,
  });
  expect(res.status).toBe(replay ? 409 : 400);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(fed.api.received.length).toBe(before);
  refusals.push({ id: String(res.headers['tramite-exchange-id']), code });
}

/** The same claims under another JOSE header: `sign` gets the signing input and returns the signature part. */
function reforge(token: string, header: Record<string, unknown>, sign: (input: string) => string): string {
  const payload = token.split('.')[1]!;
  const input = `${base64url.encode(JSON.stringify(header))}.${payload}`;
  return `${input}.${sign(input)}`;
}

const payloadOf = (token: string) => base64url.decode(token.split('.')[1]!);

describe('the JOSE header', () => {
  it('a token with alg none (no signature) is refused: TRAMITE_ERR_MODI_REST_ALG', async () => {
    const good = await tributiRequest();
    await expectAccepted(good);
    const token = good.headers['Authorization']!.slice('Bearer '.length);
    const unsigned = reforge(token, { ...decodeProtectedHeader(token), alg: 'none' }, () => '');
    await expectRefused({ ...good, headers: { ...good.headers, Authorization: `Bearer ${unsigned}` } }, 'TRAMITE_ERR_MODI_REST_ALG');
    // The same for a PDND voucher (its own verifier: RS256 only).
    const voucher = reforge(anagrafeVoucher, { ...decodeProtectedHeader(anagrafeVoucher), alg: 'none' }, () => '');
    await expectRefused(await anagrafeRequest({ voucher }), 'TRAMITE_ERR_MODI_REST_ALG');
  });

  it('a token MACed with HS256 (here keyed with the signer certificate, the classic confusion) is refused: TRAMITE_ERR_MODI_REST_ALG', async () => {
    const good = await anagrafeRequest();
    await expectAccepted(good);
    const r = await anagrafeRequest();
    const token = r.headers['Agid-JWT-Signature']!;
    const secret = new TextEncoder().encode(ortona.certificates![0]!.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const header: CompactJWSHeaderParameters = { ...decodeProtectedHeader(token), alg: 'HS256' };
    const hmac = await new CompactSign(payloadOf(token)).setProtectedHeader(header).sign(secret);
    await expectRefused({ ...r, headers: { ...r.headers, 'Agid-JWT-Signature': hmac } }, 'TRAMITE_ERR_MODI_REST_ALG');
    // A voucher MACed with a secret of the attacker's choosing.
    const forged = await new CompactSign(payloadOf(anagrafeVoucher))
      .setProtectedHeader({ ...decodeProtectedHeader(anagrafeVoucher), alg: 'HS256' })
      .sign(new TextEncoder().encode('any secret at all, of at least 32 bytes'));
    await expectRefused(await anagrafeRequest({ voucher: forged }), 'TRAMITE_ERR_MODI_REST_ALG');
  });

  it('an INTEGRITY_REST_02 token whose kid PDND does not know is refused: TRAMITE_ERR_MODI_REST_KID_UNKNOWN', async () => {
    await expectAccepted(await sanitaRequest());
    await expectRefused(await sanitaRequest('kid-sconosciuto'), 'TRAMITE_ERR_MODI_REST_KID_UNKNOWN');
    // A voucher naming a key that is not in PDND's JWKS.
    const [, payload, signature] = anagrafeVoucher.split('.');
    const renamed = `${base64url.encode(JSON.stringify({ ...decodeProtectedHeader(anagrafeVoucher), kid: 'kid-sconosciuto' }))}.${payload}.${signature}`;
    await expectRefused(await anagrafeRequest({ voucher: renamed }), 'TRAMITE_ERR_MODI_REST_KID_UNKNOWN');
  });

  it('an INTEGRITY_REST_01 token with no certificate reference (no x5c, x5t#S256 or kid) is refused: TRAMITE_ERR_MODI_REST_CERT_MISSING', async () => {
    const r = await anagrafeRequest();
    const token = r.headers['Agid-JWT-Signature']!;
    const bare = await new CompactSign(payloadOf(token))
      .setProtectedHeader({ alg: ortona.alg, typ: 'JWT' })
      .sign(ortona.privateKey as KeyObject);
    await expectRefused({ ...r, headers: { ...r.headers, 'Agid-JWT-Signature': bare } }, 'TRAMITE_ERR_MODI_REST_CERT_MISSING');
  });

  it('an x5c chain to an untrusted CA (a ComuneOrtona certificate from another CA of the same name) is refused: TRAMITE_ERR_CERT_UNTRUSTED', async () => {
    const pki = createDevPki({ dir: otherPki, parties: [ORTONA] });
    const party = pki.parties[0]!;
    const impostor = signingKey(pemKey(party.keyFile), [pemCert(party.certFile), pemCert(pki.ca.certFile)]);
    expect(impostor.certificates![0]!.subject).toBe(ortona.certificates![0]!.subject);
    expect(impostor.certificates![1]!.subject).toBe(pemCert(join(fed.nodes.regione.dir, 'pki', 'ca.cert.pem')).subject);
    await expectRefused(await anagrafeRequest({ key: impostor }), 'TRAMITE_ERR_CERT_UNTRUSTED');
  });
});

describe('the times and the jti', () => {
  it('an expired token is refused: TRAMITE_ERR_MODI_REST_EXPIRED (past its exp; issued longer ago than accepted)', async () => {
    // Issued 2 minutes ago (well within the accepted age) for 1 minute: only exp is past.
    await expectRefused(await anagrafeRequest({ now: new Date(Date.now() - 120_000), ttlSeconds: 60 }), 'TRAMITE_ERR_MODI_REST_EXPIRED');
    // Issued 20 minutes ago for an hour: exp is ahead, the iat is older than the 5 minutes accepted.
    await expectRefused(
      await anagrafeRequest({ now: new Date(Date.now() - 20 * 60_000), ttlSeconds: 3600 }),
      'TRAMITE_ERR_MODI_REST_EXPIRED',
    );
  });

  it('a token not yet valid is refused: TRAMITE_ERR_MODI_REST_NOT_YET_VALID', async () => {
    await expectRefused(await anagrafeRequest({ now: new Date(Date.now() + 20 * 60_000) }), 'TRAMITE_ERR_MODI_REST_NOT_YET_VALID');
  });

  it('the same request twice: the replayed jti is refused with 409 Conflict, TRAMITE_ERR_MODI_REST_REPLAY', async () => {
    const r = await anagrafeRequest();
    await expectAccepted(r);
    await expectRefused(r, 'TRAMITE_ERR_MODI_REST_REPLAY', true);
  });
});

describe('the body and the signed headers', () => {
  const body = JSON.stringify({ motivo: 'uso amministrativo', bollo: false });

  it('a Digest that does not match the body received is refused: TRAMITE_ERR_MODI_REST_DIGEST', async () => {
    await expectAccepted(await anagrafeRequest({ body }));
    const r = await anagrafeRequest({ body });
    const other = Buffer.from(body.replace('false', 'true '), 'utf8');
    expect(other.length).toBe(r.body!.length);
    await expectRefused({ ...r, body: other }, 'TRAMITE_ERR_MODI_REST_DIGEST');
  });

  it('a signed header altered in transit (Content-Type changed after signing) is refused: TRAMITE_ERR_MODI_REST_SIGNED_HEADER', async () => {
    const r = await anagrafeRequest({ body });
    await expectRefused({ ...r, headers: { ...r.headers, 'Content-Type': 'text/plain' } }, 'TRAMITE_ERR_MODI_REST_SIGNED_HEADER');
    // A tampered body sent with its own, recomputed Digest: the Digest is not the one signed.
    const s = await anagrafeRequest({ body });
    const other = Buffer.from(body.replace('false', 'true '), 'utf8');
    const digest = `SHA-256=${createHash('sha256').update(other).digest('base64')}`;
    await expectRefused({ ...s, body: other, headers: { ...s.headers, Digest: digest } }, 'TRAMITE_ERR_MODI_REST_SIGNED_HEADER');
  });
});

describe('the PDND voucher', () => {
  it('a voucher for another e-service (audience urn:altro:v1) is refused: TRAMITE_ERR_MODI_REST_AUDIENCE', async () => {
    const voucher = await ortonaVoucher(fed.pdnd, 'purpose-altro');
    await expectRefused(await anagrafeRequest({ voucher }), 'TRAMITE_ERR_MODI_REST_AUDIENCE');
  });

  it("a voucher for another purpose of the same e-service, not among the API's purposes, is refused: TRAMITE_ERR_PDND_VOUCHER_PURPOSE", async () => {
    const voucher = await ortonaVoucher(fed.pdnd, 'purpose-anagrafe-storico');
    await expectRefused(await anagrafeRequest({ voucher }), 'TRAMITE_ERR_PDND_VOUCHER_PURPOSE');
  });
});

describe('ID_AUTH_REST_01 without PDND (tributi)', () => {
  it('a request without Authorization is refused: TRAMITE_ERR_MODI_REST_MALFORMED', async () => {
    const r = await tributiRequest();
    const { Authorization: _dropped, ...rest } = r.headers;
    await expectRefused({ ...r, headers: rest }, 'TRAMITE_ERR_MODI_REST_MALFORMED');
  });

  it("a token signed by a trusted certificate of another party (the Regione's own) binds to no consumer: TRAMITE_ERR_MODI_REST_BINDING", async () => {
    const pki = join(fed.nodes.regione.dir, 'pki');
    const regione = signingKey(pemKey(join(pki, 'RegioneAbruzzo.key.pem')), [pemCert(join(pki, 'RegioneAbruzzo.cert.pem'))]);
    await expectRefused(await tributiRequest(regione), 'TRAMITE_ERR_MODI_REST_BINDING');
  });
});

describe('what the review of the gateway found', () => {
  it('a path that climbs out of the API is refused before anything is verified or forwarded: TRAMITE_ERR_REST_PATH', async () => {
    const good = await tributiRequest();
    for (const path of [
      '/rest/in/tributi/v1/../../admin/secret',
      '/rest/in/tributi/v1/%2e%2e/%2E%2E/admin',
      '/rest/in/tributi/v1/..%2F..%2Fadmin',
    ]) {
      const before = fed.api.received.length;
      // A raw request line: a URL parser on the client side would collapse the dot segments before they are sent.
      const client = new Client(fed.nodes.regione.baseUrl, { connect: { ca: readFileSync(fed.nodes.regione.caFile, 'utf8') } });
      const res = await client.request({ method: 'GET', path, headers: good.headers });
      const problem = (await res.body.json()) as Record<string, unknown>;
      await client.close();
      expect(res.statusCode, path).toBe(400);
      expect(problem).toMatchObject({ code: 'TRAMITE_ERR_REST_PATH' });
      expect(fed.api.received.length).toBe(before);
    }
  });

  it('with a voucher, ID_AUTH_REST_02 requires the integrity token to carry its single-use jti: TRAMITE_ERR_MODI_REST_MALFORMED', async () => {
    const r = await anagrafeRequest();
    const token = r.headers['Agid-JWT-Signature']!;
    const { jti: _jti, ...claims } = JSON.parse(new TextDecoder().decode(payloadOf(token))) as Record<string, unknown>;
    const withoutJti = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
      .setProtectedHeader(decodeProtectedHeader(token) as CompactJWSHeaderParameters)
      .sign(ortona.privateKey as KeyObject);
    await expectRefused({ ...r, headers: { ...r.headers, 'Agid-JWT-Signature': withoutJti } }, 'TRAMITE_ERR_MODI_REST_MALFORMED');
  });

  it("a kid-signed token naming the voucher's client but signed with another client's PDND key is refused: TRAMITE_ERR_MODI_REST_BINDING", async () => {
    await expectAccepted(await sanitaRequest());
    await expectRefused(await sanitaRequest('kid-regione-api', KEYS.regioneApi.privateKey), 'TRAMITE_ERR_MODI_REST_BINDING');
  });

  it("an audit token signed by another party's certificate does not ride on the Comune's request: TRAMITE_ERR_MODI_REST_BINDING", async () => {
    const pki = join(fed.nodes.cst.dir, 'pki');
    const francavilla = signingKey(pemKey(join(pki, 'ComuneFrancavillaAlMare.key.pem')), [
      pemCert(join(pki, 'ComuneFrancavillaAlMare.cert.pem')),
    ]);
    const catasto = async (auditKey: RestSigningKey): Promise<Crafted> => {
      const signed = await buildModiRestRequestHeaders(
        { audience: 'https://regione.example/catasto/v1', issuer: ORTONA, subject: ORTONA, now: new Date(), ttlSeconds: TTL },
        {
          idAuth: 'ID_AUTH_REST_02',
          integrity: 'INTEGRITY_REST_01',
          audit: { pattern: 'AUDIT_REST_01', claims: { userID: 'u', userLocation: 'l', LoA: 'LoA2' } },
        },
        ortona,
        auditKey,
      );
      return { method: 'GET', path: `/rest/in/catasto/v1/residenti/${CF}`, headers: signed.headers };
    };
    await expectAccepted(await catasto(ortona));
    await expectRefused(await catasto(francavilla), 'TRAMITE_ERR_MODI_REST_BINDING');
  });

  it('a tampered copy refused for its Digest does not use up the jti of the genuine message that follows', async () => {
    const genuine = await anagrafeRequest({ body: JSON.stringify({ motivo: 'originale' }) });
    const tampered = { ...genuine, body: Buffer.from(JSON.stringify({ motivo: 'alterato!' }), 'utf8') };
    await expectRefused(tampered, 'TRAMITE_ERR_MODI_REST_DIGEST');
    await expectAccepted(genuine);
  });

  it('a request refused before its sender is verified is logged with its body digest, not its body', async () => {
    const r = await anagrafeRequest({ body: JSON.stringify({ motivo: 'MARCATORE-NON-AUTENTICATO' }) });
    const voucher = reforge(anagrafeVoucher, { ...decodeProtectedHeader(anagrafeVoucher), alg: 'none' }, () => '');
    await expectRefused({ ...r, headers: { ...r.headers, Authorization: `Bearer ${voucher}` } }, 'TRAMITE_ERR_MODI_REST_ALG');
    const records = await fed.regione.node.store.store.recordsOf(refusals.at(-1)!.id);
    expect(records.length).toBeGreaterThan(0);
    for (const rec of records)
      expect(Buffer.from(rec.envelope ?? new Uint8Array()).toString('latin1')).not.toContain('MARCATORE-NON-AUTENTICATO');
    expect(records[0]!.detail).toMatchObject({
      requestBody: { bytes: r.body!.length, sha256: createHash('sha256').update(r.body!).digest('hex') },
    });
  });
});

describe("the refusals in the Regione's message log", () => {
  it('each is a FAILED inbound REST exchange with its code', async () => {
    expect(refusals.length).toBe(24);
    const res = await sendRest(fed.nodes.regione, 'GET', '/api/v1/messages?direction=in&limit=1000', {
      authorization: `Bearer ${fed.nodes.regione.tokens[REGIONE]}`,
    });
    expect(res.status).toBe(200);
    const byId = new Map((res.json().messages as Array<Record<string, any>>).map((m) => [m['id'], m]));
    for (const { id, code } of refusals) {
      const m = byId.get(id);
      expect(m, `exchange ${id} (${code})`).toBeDefined();
      expect(m).toMatchObject({ direction: 'in', status: 'FAILED', to: REGIONE, error: { code } });
      expect(m!['rest']).toMatchObject({ version: 'v1', httpStatus: code === 'TRAMITE_ERR_MODI_REST_REPLAY' ? 409 : 400 });
    }
  });

  it('the log holding the refused forgeries still verifies: their tokens are recorded, not re-verified as genuine', async () => {
    const report = await fed.regione.node.auditor().verify({ signatures: true });
    expect(report.issues, JSON.stringify(report.issues)).toEqual([]);
    expect(report.restTokens!.skipped).toBeGreaterThanOrEqual(refusals.length);
  });
});
