/**
 * The replay filter kept in the log store (LogStore.acceptToken / purgeExpiredTokens), held to the same
 * assertions on SQLite and PostgreSQL: a token is taken once until it expires, concurrent takes (in one
 * process, or from two store instances as two node processes) let exactly one through, the holds survive
 * a restart, purges remove only what expired, and keys the store cannot hold are refused with their code.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { TramiteError } from '../../src/core/errors.js';
import { fixedClock } from '../../src/core/clock.js';
import { MAX_TOKEN_KEY_CHARS, TOKEN_PURGE_WINDOW } from '../../src/log/accepted-token.js';
import type { LogStore } from '../../src/log/log-store.js';
import { MessageLog } from '../../src/log/message-log.js';
import { BASE_TIME, dropFileDatabase, newStoreSite, NODE, rawSql, STORE_KINDS, type StoreKind, type StoreSite } from './log-fixtures.js';

const NS = 'x5t:3q2-7wAbCdEfGhIjKlMnOpQrStUvWxYz0123456789';
const at = (seconds: number) => new Date(BASE_TIME.getTime() + seconds * 1000);

afterAll(() => dropFileDatabase());

describe.each(STORE_KINDS)('%s log store: accepted tokens', (kind: StoreKind) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function site(): Promise<StoreSite> {
    const s = await newStoreSite(kind);
    cleanups.push(() => s.dispose());
    return s;
  }
  /** A store of `s`, closed after the test unless the test closed it already. */
  async function open(s: StoreSite): Promise<LogStore> {
    const store = await s.open();
    let closed = false;
    const close = store.close.bind(store);
    store.close = async () => {
      if (closed) return;
      closed = true;
      await close();
    };
    cleanups.push(() => store.close());
    return store;
  }
  const fresh = async () => open(await site());
  const heldRows = async (store: LogStore) =>
    Number((await rawSql(store).all<{ n: number | string }>('SELECT count(*) AS n FROM accepted_tokens'))[0]!.n);

  it('takes a new token, refuses it while held, and takes it again once it expired (until ≤ now)', async () => {
    const store = await fresh();
    expect(await store.acceptToken(NS, 'jti-1', at(60), at(0))).toBe(true);
    expect(await store.acceptToken(NS, 'jti-1', at(60), at(1))).toBe(false);
    expect(await store.acceptToken(NS, 'jti-1', at(120), at(59))).toBe(false);
    // Held until 60: at 60 it has expired, and is taken again, now until 200.
    expect(await store.acceptToken(NS, 'jti-1', at(200), at(60))).toBe(true);
    expect(await store.acceptToken(NS, 'jti-1', at(300), at(199))).toBe(false);
    // The key is the pair: the same id in another namespace (another signer) is another token.
    expect(await store.acceptToken('kid:pdnd-7f3a', 'jti-1', at(60), at(1))).toBe(true);
    expect(await store.acceptToken(NS, 'jti-2', at(60), at(1))).toBe(true);
    expect(await heldRows(store)).toBe(3);
  });

  it('of 50 concurrent calls for one token exactly one is true', async () => {
    const store = await fresh();
    const verdicts = await Promise.all(Array.from({ length: 50 }, () => store.acceptToken(NS, 'jti-race', at(60), at(0))));
    expect(verdicts.filter(Boolean)).toHaveLength(1);
    // Mixed with other tokens in the same groups: each of those is taken once too.
    const mixed = await Promise.all(
      Array.from({ length: 100 }, (_, i) => store.acceptToken(NS, `jti-${i % 10}`, at(60), at(0)).then((ok) => ({ i: i % 10, ok }))),
    );
    for (let i = 0; i < 10; i++) expect(mixed.filter((m) => m.i === i && m.ok)).toHaveLength(1);
  });

  it('two store instances on one log (two node processes) racing for one token: exactly one is true, new or expired', async () => {
    const s = await site();
    const a = await open(s);
    const b = await open(s);
    const race = (until: Date, now: Date) =>
      Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).acceptToken(NS, 'jti-shared', until, now)));
    expect((await race(at(60), at(0))).filter(Boolean)).toHaveLength(1);
    expect((await race(at(60), at(30))).filter(Boolean)).toHaveLength(0);
    // Expired: the row is there, and both processes try to take it again at once.
    expect((await race(at(200), at(61))).filter(Boolean)).toHaveLength(1);
    expect(await b.acceptToken(NS, 'jti-shared', at(300), at(199))).toBe(false);
  });

  it('a held token is still held after the store is closed and opened again (a restart)', async () => {
    const s = await site();
    const before = await open(s);
    expect(await before.acceptToken(NS, 'jti-restart', at(3600), at(0))).toBe(true);
    await before.close();
    const after = await open(s);
    expect(await after.acceptToken(NS, 'jti-restart', at(3600), at(10))).toBe(false);
    expect(await after.acceptToken(NS, 'jti-restart', at(7200), at(3600))).toBe(true);
  });

  it('a log made before the tokens table existed gets it when opened', async () => {
    const s = await site();
    const old = await open(s);
    await rawSql(old).run('DROP TABLE accepted_tokens');
    await old.close();
    const reopened = await open(s);
    expect(await reopened.acceptToken(NS, 'jti-old-log', at(60), at(0))).toBe(true);
    expect(await reopened.acceptToken(NS, 'jti-old-log', at(60), at(1))).toBe(false);
  });

  it('purging removes the expired tokens only, in windows, and the held ones stay refused', async () => {
    const store = await fresh();
    const expired = TOKEN_PURGE_WINDOW * 2 + 500; // three windows
    await Promise.all(Array.from({ length: expired }, (_, i) => store.acceptToken(NS, `old-${i}`, at(100 + (i % 50)), at(0))));
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.acceptToken(NS, `live-${i}`, at(150 + i), at(0))));
    // At 150: every old-* (held until 100…149) and nothing live (150…169: live-0's until = now is expired, as acceptToken reads it).
    expect(await store.purgeExpiredTokens(at(150))).toBe(expired + 1);
    expect(await heldRows(store)).toBe(19);
    expect(await store.purgeExpiredTokens(at(150))).toBe(0);
    for (let i = 1; i < 20; i++) expect(await store.acceptToken(NS, `live-${i}`, at(400), at(150))).toBe(false);
    expect(await store.purgeExpiredTokens(at(1000))).toBe(19);
    expect(await heldRows(store)).toBe(0);
  });

  it('refuses a namespace or id longer than 200 characters, or holding U+0000, with its code and without writing', async () => {
    const store = await fresh();
    const long = 'j'.repeat(MAX_TOKEN_KEY_CHARS + 1);
    for (const [ns, id] of [
      [long, 'jti'],
      [NS, long],
      [NS, 'jti\u0000tail'],
      ['ns\u0000', 'jti'],
    ]) {
      const err = await store.acceptToken(ns!, id!, at(60), at(0)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TramiteError);
      expect((err as TramiteError).code).toBe('TRAMITE_ERR_TOKEN_KEY');
    }
    expect(await heldRows(store)).toBe(0);
    // 200 characters each is within the bound, and held as given (not cut).
    const max = 'n'.repeat(MAX_TOKEN_KEY_CHARS);
    expect(await store.acceptToken(max, max, at(60), at(0))).toBe(true);
    expect(await store.acceptToken(max, max, at(60), at(1))).toBe(false);
    expect(await store.acceptToken(max, `${max.slice(1)}m`, at(60), at(1))).toBe(true);
  });

  it("MessageLog's start purges expired tokens without any retention configured", async () => {
    const store = await fresh();
    await store.acceptToken(NS, 'expired', at(10), at(0));
    await store.acceptToken(NS, 'held', at(7200), at(0));
    const log = new MessageLog({ store, node: NODE, clock: fixedClock(at(3600)) });
    cleanups.push(() => log.close());
    log.start();
    await expect.poll(() => heldRows(store), { timeout: 10_000 }).toBe(1);
    expect(await store.acceptToken(NS, 'held', at(7200), at(3600))).toBe(false);
    expect(await store.acceptToken(NS, 'expired', at(7200), at(3600))).toBe(true);
  });
});
