/**
 * Walking the whole log a page at a time (keyset paging, newest first), as reconciliation does: every
 * selected message exactly once, none skipped at a page boundary, even among messages created in the same
 * instant and inbound ones sharing an id — on SQLite and PostgreSQL.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { messagesInPages } from '../../src/core/message-pages.js';
import { dropFileDatabase, messageLog, newStoreSite, sampleEnvelope, sampleMessage, SteppingClock, STORE_KINDS } from './log-fixtures.js';

afterAll(() => dropFileDatabase());

describe.each(STORE_KINDS)('%s log: messages in pages', (kind) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('lists every selected message once, newest first, across pages that split same-instant messages and shared ids', async () => {
    const site = await newStoreSite(kind);
    const store = await site.open();
    cleanups.push(async () => {
      await store.close();
      await site.dispose();
    });
    // Three messages per second of createdAt: most page boundaries fall between messages of the same instant.
    const clock = new SteppingClock(undefined, 0);
    const log = messageLog(store, { clock, checkpoints: false });
    const created: string[] = [];
    for (let i = 1; i <= 23; i++) {
      const at = new Date(Date.UTC(2031, 2, 3, 9, 0, Math.floor(i / 3))).toISOString();
      const m = sampleMessage(i, clock, { direction: 'in', status: 'RECEIVED', createdAt: at, updatedAt: at, from: `SPC/Comune${i % 2}` });
      // Two senders share each id: inbound ids are unique per sender only.
      const shared = { ...m, id: `ID-${Math.ceil(i / 2)}` };
      await log.create(shared, sampleEnvelope(shared.id));
      created.push(`${shared.id} ${shared.from}`);
    }
    await log.create(sampleMessage(99, clock, { direction: 'out', status: 'ACCEPTED' }), sampleEnvelope('OUT'));

    const pages: string[][] = [];
    for await (const page of messagesInPages(log, { direction: 'in', status: 'RECEIVED' }, 4))
      pages.push(page.map((m) => `${m.id} ${m.from}`));
    expect(pages.map((p) => p.length)).toEqual([4, 4, 4, 4, 4, 3]);
    const listed = pages.flat();
    expect(new Set(listed).size).toBe(23);
    expect([...listed].sort()).toEqual([...created].sort());
  });
});
