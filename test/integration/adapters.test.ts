/**
 * Adapters inside a real node: loaded from a module path like a third-party adapter, options checked
 * against the adapter's schema with refusals naming the field, inbound messages handed to the adapter
 * instead of the back-office URL, and messages the adapter sends travelling through the bus.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundKey } from '../../src/core/message-record.js';
import { ConfigError } from '../../src/core/errors.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { DemoBackOffice } from '../../src/demo/demo-back-office.js';
import { writeDemoFederation, type DemoNode } from '../../src/demo/demo-federation.js';
import type { RunningNode } from '../../src/http/serve-node.js';
import { patchConfig, startFederation, type InProcessFederation } from '../../test-support/in-process-federation.js';
import { TramiteNode } from '../../src/node/tramite-node.js';
import { BUILTIN_ADAPTERS } from '../../adapters/builtin.js';
import { busClientFor } from '../../src/node/dispatch/adapter-bus-client.js';

const CARTELLA = fileURLToPath(new URL('../../adapters/examples/cartella/cartella-adapter.ts', import.meta.url));
const FRANCAVILLA = 'SPC/ComuneFrancavillaAlMare';
const REGIONE = 'SPC/RegioneAbruzzo';

let federation: InProcessFederation;
let backOffice: DemoBackOffice;
let nodes: { cst: DemoNode; regione: DemoNode };
let regione: RunningNode;
let folder: string;
const patch = patchConfig;

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'tramite-cartella-'));
  federation = await startFederation('adapters', (fed) =>
    patch(fed.regione, (raw) => {
      const party = raw.parties.find((p: { code: string }) => p.code === REGIONE);
      party.adapters.push({
        use: CARTELLA,
        options: { inbox: join(folder, 'in'), outbox: join(folder, 'out'), pollMs: 100 },
        services: ['ComunicazioneVariazione'],
      });
    }),
  );
  ({ backOffice, nodes, regione } = federation);
});

afterAll(() => federation?.close());

describe('an adapter loaded from a module path', () => {
  it('takes the inbound messages of the services it serves, instead of the back-office URL', async () => {
    const res = await request(`${nodes.cst.baseUrl}/api/v1/messages?wait=20`, {
      method: 'POST',
      headers: { authorization: `Bearer ${nodes.cst.tokens[FRANCAVILLA]}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        from: FRANCAVILLA,
        to: REGIONE,
        service: 'ComunicazioneVariazione',
        action: 'Notifica',
        payload: '<v:Variazione xmlns:v="urn:t">cartella</v:Variazione>',
      }),
    });
    const { id, status } = (await res.body.json()) as { id: string; status: string };
    expect(status).toBe('DELIVERED');
    const file = join(folder, 'out', `${id.replace(/:/g, '~3A')}.xml`);
    await expect.poll(() => existsSync(file), { timeout: 20_000 }).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe('<v:Variazione xmlns:v="urn:t">cartella</v:Variazione>');
    await expect.poll(async () => (await regione.node.store.get(inboundKey(id, FRANCAVILLA)))?.status).toBe('DISPATCHED');
    expect(backOffice.receivedBy(REGIONE, id)).toBe(false);
  });

  it('sends what its external system produces through the bus, from its party', async () => {
    writeFileSync(
      join(folder, 'in', 'avviso.json'),
      JSON.stringify({ to: FRANCAVILLA, service: 'AvvisoScadenza', payload: '<avv:Avviso xmlns:avv="urn:t">dal file</avv:Avviso>' }),
    );
    await expect
      .poll(() => backOffice.received.find((m) => m.party === FRANCAVILLA && m.payload.includes('dal file')), { timeout: 20_000 })
      .toBeDefined();
    const id = readFileSync(join(folder, 'in', 'sent', 'avviso.id'), 'utf8').trim();
    expect(backOffice.received.find((m) => m.payload.includes('dal file'))?.id).toBe(id);
    writeFileSync(join(folder, 'in', 'rotto.json'), JSON.stringify({ to: FRANCAVILLA, service: 'NessunServizio', payload: '' }));
    await expect.poll(() => existsSync(join(folder, 'in', 'rejected', 'rotto.error.txt')), { timeout: 20_000 }).toBe(true);
    expect(readFileSync(join(folder, 'in', 'rejected', 'rotto.error.txt'), 'utf8')).toContain('NessunServizio');
    expect(readdirSync(join(folder, 'in')).filter((n) => n.endsWith('.json'))).toEqual([]);
  });

  it("gives adapters a sincrono call through the bus: sendAndWait resolves with the provider's answer", async () => {
    const bus = busClientFor(
      'SPC/ComuneOrtona',
      () => federation.cst.node.outbound,
      () => federation.cst.node.store,
    );
    const state = await bus.sendAndWait(
      {
        to: REGIONE,
        service: 'VerificaResidenza',
        payload: '<a:Richiesta xmlns:a="urn:t"><a:codiceFiscale>RSSMRA85T10A562S</a:codiceFiscale></a:Richiesta>',
      },
      { timeoutMs: 20_000 },
    );
    expect(state).toMatchObject({ status: 'DELIVERED', reply: expect.stringContaining('RSSMRA85T10A562S') });
    const refused = await bus.sendAndWait({ to: REGIONE, service: 'ServizioDismesso', payload: '' }, { timeoutMs: 20_000 });
    expect(refused).toMatchObject({ status: 'FAILED', error: { code: 'EGOV_IT_105' } });
  });

  it('reports its health beside the built-in ones', async () => {
    const res = await request(`${nodes.regione.baseUrl}/health`, { headers: { authorization: `Bearer ${nodes.regione.operatorToken}` } });
    const health = (await res.body.json()) as { adapters: Array<{ party: string; adapter: string; status: string }> };
    expect(health.adapters.filter((a) => a.party === REGIONE).map((a) => [a.adapter, a.status])).toEqual([
      ['protocollo', 'up'],
      ['cartella', 'up'],
    ]);
  });
});

describe('a node refuses adapters it cannot run', () => {
  async function refusal(edit: (party: any) => void): Promise<ConfigError> {
    const root = mkdtempSync(join(tmpdir(), 'tramite-adapters-bad-'));
    const fed = await writeDemoFederation(root, (p) => `http://127.0.0.1:9/${encodeURIComponent(p)}`, { plainHttp: true });
    patch(fed.regione, (raw) => edit(raw.parties[0]));
    try {
      const node = await TramiteNode.open(loadConfig(fed.regione.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
      await node.stop();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return err as ConfigError;
    }
    throw new Error('the node started');
  }

  it('options that do not match the adapter schema: the field and the fix', async () => {
    const err = await refusal((party) => {
      party.adapters[0].options.aoo.codiceRegistro = 'registro con spazi';
      party.adapters[0].options.colore = 'blu';
    });
    expect(err.code).toBe('TRAMITE_ERR_CONFIG_INVALID');
    expect(err.message).toContain(
      'config parties[0].adapters[0].options.aoo.codiceRegistro: "registro con spazi" does not have the expected form',
    );
    expect(err.message).toContain('config parties[0].adapters[0].options.colore: is not a known property');
  });

  it('a module that is missing, or is not an adapter', async () => {
    const missing = await refusal((party) => party.adapters.push({ use: './nowhere/adapter.js' }));
    expect(missing).toMatchObject({ code: 'TRAMITE_ERR_ADAPTER_INVALID', field: 'parties[0].adapters[1].use' });
    const notAdapter = await refusal((party) =>
      party.adapters.push({ use: fileURLToPath(new URL('../../src/core/clock.ts', import.meta.url)) }),
    );
    expect(notAdapter.message).toContain('is not a Tramite adapter');
  });

  it('a service the party does not provide (checked with the rest of the configuration)', () => {
    const fed = nodes.regione;
    const raw = JSON.parse(readFileSync(fed.configFile, 'utf8'));
    raw.parties[0].adapters[0].services = ['ProtocoloInteroperabile'];
    const file = join(fed.dir, 'bad-services.json');
    writeFileSync(file, JSON.stringify(raw));
    expect(() => loadConfig(file)).toThrow(
      /parties\[0\]\.adapters\[0\]\.services\[0\]: SPC\/RegioneAbruzzo provides no service "ProtocoloInteroperabile" — fix: did you mean "ProtocolloInteroperabile"\?/,
    );
  });
});
