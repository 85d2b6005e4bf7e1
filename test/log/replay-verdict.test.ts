/**
 * The log store's replay verdict reaches the ModI REST verifier: an ID_AUTH_REST_02 request verified
 * twice through verifyModiRestMessage with the store as its replay filter is refused the second time
 * with TRAMITE_ERR_MODI_REST_REPLAY — also after a restart of the store, and from a second store
 * instance on the same log (another node process); and a jti the store cannot hold fails closed.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { buildModiRestRequestHeaders } from '../../envelopes/modi-rest/rest-message-headers.js';
import { verifyModiRestMessage } from '../../envelopes/modi-rest/rest-message-verify.js';
import type { JtiReplayFilter } from '../../envelopes/modi-rest/rest-token-verify.js';
import { TramiteError } from '../../src/core/errors.js';
import type { LogStore } from '../../src/log/log-store.js';
import { expectModiRefused, REST_AUDIENCE, restPolicy, restTestKeys, x509Key } from '../envelopes/modi-rest/rest-test-keys.js';
import { dropFileDatabase, newStoreSite, STORE_KINDS, type StoreKind } from './log-fixtures.js';

const BODY = Buffer.from('{"codiceFiscale":"RSSMRA80A01H501U"}');
const EXPECTED = { idAuth: 'ID_AUTH_REST_02', integrity: 'INTEGRITY_REST_01' } as const;

/** The store as the verifier's replay filter, at the wall clock (the verifier's own `at` is the wall clock too). */
const replayFilter = (store: LogStore): JtiReplayFilter => ({ accept: (ns, jti, until) => store.acceptToken(ns, jti, until, new Date()) });

afterAll(() => dropFileDatabase());

describe.each(STORE_KINDS)('%s log store as the ModI REST replay filter', (kind: StoreKind) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('a replayed ID_AUTH_REST_02 request is refused, after a restart and from another process too', async () => {
    const { pki } = restTestKeys();
    const s = await newStoreSite(kind);
    cleanups.push(() => s.dispose());
    const now = new Date();
    const built = await buildModiRestRequestHeaders(
      { audience: REST_AUDIENCE, issuer: 'ComuneA', now, ttlSeconds: 300, body: BODY },
      EXPECTED,
      x509Key(pki.comuneA, 'RS256'),
    );
    const verify = (store: LogStore) =>
      verifyModiRestMessage({ headers: built.headers, body: BODY }, EXPECTED, restPolicy(now, { replay: replayFilter(store) }));

    const first = await s.open();
    const verified = await verify(first);
    expect(verified.patterns).toEqual(['ID_AUTH_REST_02', 'INTEGRITY_REST_01']);
    await expectModiRefused(verify(first), 'TRAMITE_ERR_MODI_REST_REPLAY', 'Authorization');

    const other = await s.open();
    await expectModiRefused(verify(other), 'TRAMITE_ERR_MODI_REST_REPLAY');
    await other.close();
    await first.close();

    const restarted = await s.open();
    cleanups.push(() => restarted.close());
    await expectModiRefused(verify(restarted), 'TRAMITE_ERR_MODI_REST_REPLAY');
    // What was held is the signer's jti, until the token's exp plus the skew.
    const jti = verified.idAuth!.claims.jti!;
    const expiry = new Date((verified.idAuth!.claims.exp + 5) * 1000);
    const later = new Date(expiry.getTime() + 60_000);
    expect(await restarted.acceptToken(verified.idAuth!.replayNamespace, jti, later, new Date(expiry.getTime() - 1))).toBe(false);
    expect(await restarted.acceptToken(verified.idAuth!.replayNamespace, jti, later, expiry)).toBe(true);
  });

  it('a jti longer than the store holds is refused as malformed before the store is asked (the store would fail closed too: accepted-tokens.test.ts)', async () => {
    const { pki } = restTestKeys();
    const s = await newStoreSite(kind);
    cleanups.push(() => s.dispose());
    const store = await s.open();
    cleanups.push(() => store.close());
    const now = new Date();
    const built = await buildModiRestRequestHeaders(
      { audience: REST_AUDIENCE, now, ttlSeconds: 300, body: BODY, jti: 'j'.repeat(201) },
      EXPECTED,
      x509Key(pki.comuneA, 'RS256'),
    );
    const refused = await verifyModiRestMessage(
      { headers: built.headers, body: BODY },
      EXPECTED,
      restPolicy(now, { replay: replayFilter(store) }),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(TramiteError);
    expect((refused as TramiteError).code).toBe('TRAMITE_ERR_MODI_REST_MALFORMED');
  });
});
