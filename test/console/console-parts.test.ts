/** The console's parts that need no browser: escaping, sessions, the CSRF checks, the search form's mapping, the dictionaries. */
import { describe, expect, it } from 'vitest';
import { html, raw } from '../../src/http/console/html.js';
import { ConsoleSessions } from '../../src/http/console/console-sessions.js';
import { csrfTokenMatches, fromSameOrigin } from '../../src/http/console/console-csrf.js';
import { decodeCursor, encodeCursor, listQueryOf, readSearchForm } from '../../src/http/console/message-search.js';
import { dictionaryFor } from '../../src/http/console/i18n/dictionary.js';
import { prettyXml } from '../../src/http/console/pretty-xml.js';
import type { Registry } from '../../src/node/registry/registry.js';
import { attentionMessages } from '../../src/http/console/attention-messages.js';
import type { MessageListQuery, MessageRecord } from '../../src/core/message-record.js';
import type { TramiteNode } from '../../src/node/tramite-node.js';

describe('html', () => {
  it('escapes every interpolation unless it is a fragment or explicitly raw', () => {
    const id = `"><script>alert('x')</script>&`;
    expect(html`<a title="${id}">${id}</a>`.text).toBe(
      '<a title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;">&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;</a>',
    );
    expect(html`<p>${html`<b>${'<i>'}</b>`}${raw('<br>')}${[1, '<', null, undefined, false]}</p>`.text).toBe(
      '<p><b>&lt;i&gt;</b><br>1&lt;</p>',
    );
  });
});

describe('console sessions', () => {
  const member = { role: 'operator' as const, name: 'mario' };

  it('gives each sign-in 32 random bytes of id and of CSRF token', async () => {
    const sessions = new ConsoleSessions({ idleMs: 1000, maxMs: 10_000, now: () => 0 });
    const a = await sessions.open(member);
    const b = await sessions.open(member);
    expect(Buffer.from(a.id, 'base64url')).toHaveLength(32);
    expect(Buffer.from(a.csrf, 'base64url')).toHaveLength(32);
    expect(a.id).not.toBe(b.id);
    expect((await sessions.find(a.id))?.member).toEqual(member);
    expect(await sessions.find('nope')).toBeUndefined();
  });

  it('ends a session after its idle time, and after its lifetime however active', async () => {
    let now = 0;
    const sessions = new ConsoleSessions({ idleMs: 1000, maxMs: 2500, now: () => now });
    const idle = await sessions.open(member);
    now = 999;
    expect(await sessions.find(idle.id)).toBeDefined(); // a request restarts the idle clock
    now = 1998;
    expect(await sessions.find(idle.id)).toBeDefined();
    now = 2500;
    expect(await sessions.find(idle.id)).toBeUndefined(); // the absolute lifetime, though it was used 502 ms ago
    const quiet = await sessions.open(member);
    now += 1000;
    expect(await sessions.find(quiet.id)).toBeUndefined();
  });

  it('forgets a session at sign-out', async () => {
    const sessions = new ConsoleSessions({ idleMs: 1000, maxMs: 2000, now: () => 0 });
    const s = await sessions.open(member);
    await sessions.close(s.id);
    expect(await sessions.find(s.id)).toBeUndefined();
  });
});

describe('CSRF checks', () => {
  it('takes only the session token itself', () => {
    expect(csrfTokenMatches('abc', 'abc')).toBe(true);
    for (const wrong of ['abd', 'ab', 'abcd', '', undefined, ['abc'], 123]) expect(csrfTokenMatches('abc', wrong)).toBe(false);
  });

  it('takes a POST from this origin only: by Origin, else by Referer, never with neither', () => {
    const here = 'https://node.example:8443';
    expect(fromSameOrigin(here, { origin: here })).toBe(true);
    expect(fromSameOrigin(here, { origin: 'https://evil.example' })).toBe(false);
    expect(fromSameOrigin(here, { origin: 'null' })).toBe(false);
    expect(fromSameOrigin(here, { referer: `${here}/console/attention` })).toBe(true);
    expect(fromSameOrigin(here, { referer: 'https://node.example:8443.evil.example/console' })).toBe(false);
    expect(fromSameOrigin(here, { referer: 'not a url' })).toBe(false);
    expect(fromSameOrigin(here, {})).toBe(false);
  });
});

describe('the search form', () => {
  const registry = { config: { peers: [{ name: 'regione', parties: ['SPC/Regione'] }] } } as unknown as Registry;

  it('reads the fields it knows, and leaves out the empty and the malformed', () => {
    expect(
      readSearchForm({
        party: 'SPC/Comune',
        peer: ' regione ',
        service: '',
        state: 'FAILED',
        direction: 'sideways',
        createdFrom: '2026-12-06T10:00',
        createdTo: 'yesterday',
        id: 'X_1',
        extra: 'ignored',
      }),
    ).toEqual({ party: 'SPC/Comune', peer: 'regione', state: 'FAILED', createdFrom: '2026-12-06T10:00:00.000Z', id: 'X_1' });
  });

  it('maps to the log query in one place, with the keyset cursor and a page size', () => {
    const cursor = { createdAt: '2026-12-06T10:00:00.000Z', id: 'A', from: 'SPC/Comune' };
    const q = listQueryOf({ party: 'SPC/Comune', state: 'FAILED', direction: 'out', id: 'A' }, registry, cursor);
    expect(q).toEqual({ direction: 'out', id: 'A', parties: new Set(['SPC/Comune']), status: 'FAILED', olderThan: cursor, limit: 50 });
    // The time range is the query's own (from inclusive, to exclusive): the cursor alone starts the keyset.
    expect(listQueryOf({ createdTo: '2026-12-06T11:00:00.000Z' }, registry).olderThan).toBeUndefined();
    expect(listQueryOf({ createdTo: '2026-12-06T11:00:00.000Z' }, registry, cursor).olderThan).toEqual(cursor);
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
    expect(decodeCursor('garbage')).toBeUndefined();
  });

  it('passes peer, service and time range to the log query (a peer as its parties)', () => {
    const q = listQueryOf(
      { peer: 'regione', service: 'S', createdFrom: '2026-12-06T10:00:00.000Z', createdTo: '2026-12-06T11:00:00.000Z' },
      registry,
    );
    expect(q).toEqual({
      service: 'S',
      counterparts: new Set(['SPC/Regione']),
      createdFrom: '2026-12-06T10:00:00.000Z',
      createdTo: '2026-12-06T11:00:00.000Z',
      limit: 50,
    });
    // An unknown peer has no parties: nothing matches, rather than everything.
    expect(listQueryOf({ peer: 'other' }, registry).counterparts).toEqual(new Set());
  });
});

describe('dictionaries', () => {
  it('have the same keys, and no empty string', () => {
    const it_ = dictionaryFor('it');
    const en = dictionaryFor('en');
    expect(Object.keys(en).sort()).toEqual(Object.keys(it_).sort());
    for (const d of [it_, en]) for (const [k, v] of Object.entries(d)) if (typeof v === 'string') expect(v.length, k).toBeGreaterThan(0);
  });
});

describe('prettyXml', () => {
  it('indents without touching a tag, and keeps an element with only text on one line', () => {
    expect(prettyXml('<?xml version="1.0"?><a xmlns="u"><b x="1">t &amp; u</b><c/><d><e>1</e> </d><!-- c --></a>')).toBe(
      [
        '<?xml version="1.0"?>',
        '<a xmlns="u">',
        '  <b x="1">t &amp; u</b>',
        '  <c/>',
        '  <d>',
        '    <e>1</e>',
        '  </d>',
        '  <!-- c -->',
        '</a>',
      ].join('\n'),
    );
  });
});

describe('attentionMessages', () => {
  it("holds each not-final message to its own service's stuck threshold, else the node's", async () => {
    const now = new Date('2026-12-06T12:00:00.000Z');
    const ago = (minutes: number): string => new Date(now.getTime() - minutes * 60_000).toISOString();
    const messages = [
      { id: 'fast-2min', service: 'Fast', status: 'ACCEPTED', createdAt: ago(2) },
      { id: 'slow-2min', service: 'Slow', status: 'ACCEPTED', createdAt: ago(2) },
      { id: 'slow-20min', service: 'Slow', status: 'SENDING', createdAt: ago(20) },
      { id: 'api-30s', service: 'Api', status: 'RECEIVED', createdAt: ago(0.5) },
    ] as MessageRecord[];
    const asked: MessageListQuery[] = [];
    const node = {
      config: {
        alarms: { stuckAfterSeconds: 900 },
        services: [{ name: 'Fast', stuckAfterSeconds: 60 }],
        restServices: [{ name: 'Api', stuckAfterSeconds: 20 }],
      },
      store: {
        list: async (q: MessageListQuery) => {
          asked.push(q);
          return messages.filter((m) => m.status === q.status && (!q.olderThan || m.createdAt < q.olderThan.createdAt));
        },
      },
    } as unknown as TramiteNode;
    const a = await attentionMessages(node, now);
    expect(a.stuck.map((m) => m.id)).toEqual(['slow-20min', 'fast-2min', 'api-30s']);
    expect(a.stuckAfterMs).toBe(900_000);
    expect(a.ownThresholds).toEqual(
      new Map([
        ['Fast', 60_000],
        ['Api', 20_000],
      ]),
    );
    // The keyset starts at the shortest threshold: nothing younger than every threshold is read.
    expect(asked.filter((q) => q.olderThan).map((q) => q.olderThan!.createdAt)).toEqual(Array(3).fill(ago(20 / 60)));
  });
});
