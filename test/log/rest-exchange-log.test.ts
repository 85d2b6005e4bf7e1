/**
 * ModI REST exchanges in the hash-chained message log, on both stores: one append holds the request
 * and the response (HTTP/1.1 bytes) and the projection's row, so the exchange is listed, searched and
 * exported like a message; `log verify` with trust re-verifies its x5c tokens and its Digest over the
 * logged body (a forger who re-chains the log is caught by the signatures), skipping vouchers and
 * kid-signed tokens; retention drops the bytes and the target, and the chain still verifies.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inboundKey, outboundKey } from '../../src/core/message-record.js';
import type { RestExchange } from '../../src/core/rest-exchange.js';
import { messageView } from '../../src/http/message-view.js';
import { parseHttpMessageBytes } from '../../src/log/http-message-bytes.js';
import { writeBundleDir } from '../../src/log/log-bundle.js';
import { canonicalRecord, chainHash, GENESIS_HASH, sha256Hex, type LogRecord } from '../../src/log/log-entry.js';
import type { LogStore } from '../../src/log/log-store.js';
import { MessageLog } from '../../src/log/message-log.js';
import { LogAuditor, verifyBundle } from '../../src/node/audit/log-auditor.js';
import { getTestPki, signedEgovEnvelope } from '../fixtures/test-pki.js';
import {
  collect,
  dropFileDatabase,
  flipByte,
  newStoreSite,
  NODE,
  overwriteRecord,
  rawSql,
  sampleMessage,
  SteppingClock,
  STORE_KINDS,
  type StoreSite,
} from './log-fixtures.js';
import { COMUNE, inboundExchange, outboundExchange, PDND_CLIENT, REGIONE, REQUEST_BODY, RESPONSE_BODY } from './rest-exchange-fixtures.js';

afterAll(() => dropFileDatabase());

// Certificates of the test PKI are valid around today: the exchanges happen a minute ago.
const START = new Date(Date.now() - 60_000);

describe.each(STORE_KINDS)('%s log: REST exchanges', (kind) => {
  let site: StoreSite;
  let store: LogStore;
  let clock: SteppingClock;
  let log: MessageLog;
  let auditor: LogAuditor;

  beforeEach(async () => {
    site = await newStoreSite(kind);
    store = await site.open();
    clock = new SteppingClock(START, 1000);
    log = new MessageLog({ store, node: NODE, clock });
    auditor = new LogAuditor(store, NODE, getTestPki().trust);
  });

  afterEach(async () => {
    await store.close();
    await site.dispose();
  });

  /** Logs a SOAP message (envelope + one state change) and the two exchanges, the inbound one refused without response. */
  async function logMixed(): Promise<{ out: RestExchange; refused: RestExchange; inbound: RestExchange }> {
    // A signed SOAP message beside them: the audit re-verifies both kinds side by side.
    const soap = sampleMessage(1, clock);
    await log.create(soap, (await signedEgovEnvelope({ at: new Date(soap.createdAt) })).xml);
    const out = await outboundExchange({ createdAt: clock.now() });
    await log.recordRestExchange(out);
    const refused = await inboundExchange({
      createdAt: clock.now(),
      withResponse: false,
      detail: { error: { code: 'TRAMITE_ERR_MODI_REST_SIGNATURE', message: 'Agid-JWT-Signature does not verify' } },
    });
    await log.recordRestExchange(refused);
    const inbound = await inboundExchange({ createdAt: clock.now() });
    await log.recordRestExchange(inbound);
    return { out, refused, inbound };
  }

  it('one append: a rest-request and a rest-response record with the HTTP bytes, and a message row', async () => {
    const { out, refused, inbound } = await logMixed();
    const records = await collect(store.range(1, (await store.head()).seq));
    expect(
      records.map(
        (r) =>
          `${r.kind}:${r.messageId === out.id ? 'out' : r.messageId === inbound.id ? 'in' : r.messageId === refused.id ? 'refused' : 'soap'}`,
      ),
    ).toEqual(['envelope:soap', 'rest-request:out', 'rest-response:out', 'rest-request:refused', 'rest-request:in', 'rest-response:in']);
    const [request, response] = records.slice(1, 3) as [LogRecord, LogRecord];
    expect(request).toMatchObject({
      direction: 'out',
      from: COMUNE,
      to: REGIONE,
      service: 'Anagrafe',
      state: 'DELIVERED',
      time: out.createdAt,
    });
    expect(request.detail).toMatchObject({
      api: 'modi-rest',
      version: 'v1',
      method: 'POST',
      patterns: ['ID_AUTH_REST_02', 'INTEGRITY_REST_01', 'AUDIT_REST_01'],
    });
    // The chained facts never hold the target (a codice fiscale in the query): only the purgeable bytes do.
    expect(JSON.stringify(request.detail)).not.toContain('RSSMRA80A01H501U');
    expect(response.detail).toEqual({ api: 'modi-rest', httpStatus: 200 });
    expect(response.time >= request.time).toBe(true);

    const sent = parseHttpMessageBytes(request.envelope!);
    expect(sent.startLine).toBe('POST /rest/Anagrafe/v1/residenti?cf=RSSMRA80A01H501U HTTP/1.1');
    expect(sent.headers).toEqual(out.request.headers);
    expect(Buffer.from(sent.body).equals(REQUEST_BODY)).toBe(true);
    const got = parseHttpMessageBytes(response.envelope!);
    expect(got.startLine).toBe('HTTP/1.1 200 OK');
    expect(Buffer.from(got.body).equals(RESPONSE_BODY)).toBe(true);

    const row = (await log.get(outboundKey(out.id)))!;
    expect(row).toMatchObject({
      envelopeProfile: 'modi-rest',
      collaboration: 'sincrono',
      status: 'DELIVERED',
      createdAt: out.createdAt,
      rest: { version: 'v1', method: 'POST', target: out.request.target, httpStatus: 200 },
    });
    expect(await log.envelopeOf(outboundKey(out.id))).toBe(Buffer.from(request.envelope!).toString('utf8'));
    expect(await log.replyEnvelopeOf(outboundKey(out.id))).toBe(Buffer.from(response.envelope!).toString('utf8'));
    expect(messageView(row)).toMatchObject({
      id: out.id,
      envelope: 'modi-rest',
      profile: 'sincrono',
      rest: { version: 'v1', method: 'POST', target: '/rest/Anagrafe/v1/residenti?cf=RSSMRA80A01H501U', httpStatus: 200 },
    });

    const failed = (await log.get(inboundKey(refused.id, PDND_CLIENT)))!;
    expect(failed).toMatchObject({ direction: 'in', to: COMUNE, status: 'FAILED', error: { code: 'TRAMITE_ERR_MODI_REST_SIGNATURE' } });
    expect(failed.rest).toEqual({ version: 'v1', method: 'PUT', target: '/rest/in/Tributi/v1/posizioni/42' });
    expect(messageView(failed).rest).toMatchObject({ httpStatus: null });
    expect(await log.replyEnvelopeOf(inboundKey(refused.id, PDND_CLIENT))).toBeUndefined();
  });

  it("is listed for its parties like a message, and found by the auditors' search and show", async () => {
    const { out, refused, inbound } = await logMixed();
    const ofComune = await log.list({ parties: new Set([COMUNE]) });
    // ComuneA sent the outbound exchange and the SOAP message 1 is not its; it received both inbound ones. Newest first.
    expect(ofComune.filter((m) => m.envelopeProfile === 'modi-rest').map((m) => m.id)).toEqual([inbound.id, refused.id, out.id]);
    expect(await log.list({ parties: new Set([COMUNE]), direction: 'in', status: 'FAILED' })).toMatchObject([{ id: refused.id }]);

    expect((await auditor.search({ party: REGIONE, service: 'Anagrafe' })).map((r) => r.kind)).toEqual(['rest-request', 'rest-response']);
    expect((await auditor.search({ messageId: inbound.id })).map((r) => [r.kind, r.envelope])).toEqual([
      ['rest-request', 'kept'],
      ['rest-response', 'kept'],
    ]);
    const shown = (await auditor.show(out.id))!;
    expect(shown.messages).toHaveLength(1);
    expect(shown.envelopes.map((e) => [e.kind, e.valid, e.tokens])).toEqual([
      ['rest-request', true, { verified: 3, skipped: 0 }],
      ['rest-response', true, { verified: 2, skipped: 0 }],
    ]);
    expect(shown.envelopes[0]!.signer).toContain('ComuneA');
    expect(shown.envelopes[1]!.signer).toContain('Regione');
    expect(shown.envelopes[0]!.xml).toContain('agid-jwt-signature: ');
  });

  it('log verify re-verifies the x5c tokens and the Digests as of each record, skipping vouchers, kid tokens and failed exchanges', async () => {
    await logMixed();
    const report = await auditor.verify();
    expect(report.issues).toEqual([]);
    expect(report).toMatchObject({ ok: true, records: 6, signaturesChecked: true, envelopesChecked: 6 });
    // Out: 3 + 2 verified. Refused: 3 skipped (FAILED). In: request 1 verified (integrity, x5c) and 2 skipped
    // (redacted voucher, AUDIT_REST_02 with a PDND kid); response 2 verified.
    expect(report.restTokens).toEqual({ verified: 8, skipped: 5 });
  });

  it('a logged body altered and the chain re-sealed after it passes the chain checks, but not the signatures', async () => {
    const { out } = await logMixed();
    const [request] = await store.recordsOf(out.id);
    const forged = Buffer.from(request!.envelope!).toString('latin1').replace('"residenza"', '"decesso"');
    await reseal(store, request!.seq, Buffer.from(forged, 'latin1'));

    expect((await auditor.verify({ signatures: false })).ok).toBe(true);
    const report = await auditor.verify();
    expect(report.ok).toBe(false);
    expect(report.issues).toHaveLength(1);
    expect(report.firstBad).toMatchObject({ seq: request!.seq, kind: 'signature' });
    expect(report.firstBad!.reason).toMatch(/Digest: Digest does not match the \d+ body bytes/);
  });

  it('a signed header altered (chain re-sealed) is reported with the token that signed it', async () => {
    const { inbound } = await logMixed();
    const [, response] = await store.recordsOf(inbound.id);
    const forged = Buffer.from(response!.envelope!)
      .toString('latin1')
      .replace('content-type: application/json', 'content-type: text/plain');
    await reseal(store, response!.seq, Buffer.from(forged, 'latin1'));
    const report = await auditor.verify();
    expect(report.firstBad).toMatchObject({ seq: response!.seq, kind: 'signature' });
    expect(report.firstBad!.reason).toMatch(/Agid-JWT-Signature: header content-type differs/);
  });

  it('a logged body altered in place is caught by its digest, with or without signatures', async () => {
    const { out } = await logMixed();
    const [, response] = await store.recordsOf(out.id);
    await rawSql(store).run('UPDATE log_records SET envelope = ? WHERE seq = ?', [
      flipByte(response!.envelope!, response!.envelope!.length - 3),
      response!.seq,
    ]);
    for (const signatures of [false, true]) {
      const report = await auditor.verify({ signatures });
      expect(report.firstBad).toMatchObject({ seq: response!.seq, kind: 'digest' });
    }
  });

  it('an export bundle keeps the HTTP messages as .http files and verifies offline, signatures included', async () => {
    const { out } = await logMixed();
    const dir = join(mkdtempSync(join(tmpdir(), 'tramite-rest-bundle-')), 'bundle');
    try {
      const head = await store.head();
      const last = (await store.record(head.seq))!;
      const content = await auditor.exportBundle(START.toISOString(), last.time, clock.now());
      writeBundleDir(dir, content);
      const [request] = await store.recordsOf(out.id);
      expect(readdirSync(join(dir, 'envelopes'))).toContain(`${request!.seq}.http`);
      expect(readFileSync(join(dir, 'envelopes', `${request!.seq}.http`)).equals(Buffer.from(request!.envelope!))).toBe(true);
      const report = await verifyBundle(dir);
      expect(report.issues).toEqual([]);
      expect(report).toMatchObject({ ok: true, signaturesChecked: true, restTokens: { verified: 8, skipped: 5 } });
    } finally {
      rmSync(join(dir, '..'), { recursive: true, force: true });
    }
  });

  it('retention drops the HTTP bytes and the row’s target; digests stay and the chain verifies', async () => {
    const { out, inbound } = await logMixed();
    const later = new MessageLog({ store, node: NODE, clock: new SteppingClock(new Date(Date.now() + 3 * 86_400_000)), retentionDays: 1 });
    expect(await later.applyRetention()).toBe(6);
    for (const r of await collect(store.range(1, 6))) {
      expect(r.envelope).toBeUndefined();
      expect(r.envelopeDigest).toMatch(/^[0-9a-f]{64}$/);
    }
    const row = (await log.get(outboundKey(out.id)))!;
    expect(row.rest).toEqual({ version: 'v1', method: 'POST', httpStatus: 200 });
    expect(messageView(row).rest).toMatchObject({ target: null, httpStatus: 200 });
    expect((await log.get(inboundKey(inbound.id, PDND_CLIENT)))!.rest!.target).toBeUndefined();
    const report = await auditor.verify();
    expect(report).toMatchObject({ ok: true, envelopesPurged: 6, envelopesChecked: 0 });
    expect(report.restTokens).toBeUndefined();
  });
});

describe('records of the existing kinds hash as before', () => {
  it('an envelope record made before REST kinds existed keeps its hash (old logs still verify)', () => {
    // Computed with main's build before REST kinds were added; canonicalRecord must keep producing it.
    const old = {
      seq: 1,
      time: '2031-03-03T09:00:00.000Z',
      kind: 'envelope' as const,
      messageId: 'SPC_NodoTest_0000001_2031-03-03_09:00',
      direction: 'out' as const,
      from: 'SPC/ComuneB',
      to: 'SPC/Regione',
      service: 'Tributi',
      action: 'Notifica',
      state: 'ACCEPTED',
      detail: { attempts: 0, status: 'ACCEPTED' },
      envelopeDigest: sha256Hex('<e/>'),
    };
    expect(chainHash(GENESIS_HASH, canonicalRecord(old))).toBe(OLD_ENVELOPE_HASH);
  });
});

const OLD_ENVELOPE_HASH = '86c187a86c6ed1905b29990bfac7145b6a89c16de2cdb4d26cea8f0ba87666dc';

/** What a forger with database access but no keys does: new bytes at `seq`, digest and every later hash recomputed. */
async function reseal(store: LogStore, seq: number, bytes: Uint8Array): Promise<void> {
  const sql = rawSql(store);
  const head = await store.head();
  const records = await collect(store.range(seq, head.seq));
  let prev = records[0]!.prevHash;
  for (const [i, r] of records.entries()) {
    const base = { ...r, ...(i === 0 ? { envelope: bytes, envelopeDigest: sha256Hex(bytes) } : {}), prevHash: prev };
    const hash = chainHash(prev, canonicalRecord(base));
    await overwriteRecord(sql, r.seq, { ...base, hash });
    prev = hash;
  }
}
