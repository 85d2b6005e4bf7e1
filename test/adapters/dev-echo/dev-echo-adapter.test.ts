/**
 * The development echo back office: what it answers, that it passes the conformance kit, and that a
 * node loads it only when its configuration says it is a development node. The configuration is the
 * real one `tramite init` writes for its development identity; the adapter comes through the built-in
 * table, as `tramite start` hands it to the node.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_ADAPTERS } from '../../../adapters/builtin.js';
import devEcho, { DEV_ECHO_NS, echoOf } from '../../../adapters/dev-echo/dev-echo-adapter.js';
import { checkAdapterConformance, type BusMessage } from '../../../adapters/sdk/index.js';
import { parseUntrustedXml } from '../../../envelopes/xml/hardened-xml.js';
import { DEV_IDENTITY, initNode } from '../../../src/config/init-node.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { systemClock } from '../../../src/core/clock.js';
import { ConfigError } from '../../../src/core/errors.js';
import { AdapterHost } from '../../../src/node/dispatch/adapter-host.js';
import { Registry } from '../../../src/node/registry/registry.js';

const message = (over: Partial<BusMessage> = {}): BusMessage => ({
  id: 'ComuneDemo_TramiteSPCoopIT_0000001_2026-12-06_10:00',
  from: DEV_IDENTITY.consumer,
  to: DEV_IDENTITY.provider,
  service: DEV_IDENTITY.sincrono,
  profile: 'sincrono',
  payload: '<r:Richiesta xmlns:r="urn:esempio"><r:testo>ciao &amp; arrivederci</r:testo></r:Richiesta>',
  ...over,
});

let dir: string;
let configFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-dev-echo-'));
  configFile = initNode({ dir, port: 0 }).configFile;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Loads the adapters of `tramite init`'s config, changed by `edit`, as `tramite start` does. */
async function loadAdapters(edit: (raw: { node: Record<string, unknown> }) => void): Promise<AdapterHost> {
  const raw = JSON.parse(readFileSync(configFile, 'utf8')) as { node: Record<string, unknown> };
  edit(raw);
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(raw));
  const config = loadConfig(file);
  const unused = async (): Promise<never> => {
    throw new Error('dev-echo never sends on the bus');
  };
  return AdapterHost.load(config, {
    log: pino({ level: 'silent' }),
    bus: () => ({ send: unused, sendAndWait: unused, answer: unused, state: unused }),
    trust: new Registry(config).auditTrust(),
    clock: systemClock,
    catalog: BUILTIN_ADAPTERS,
  });
}

describe('dev-echo: the answer', () => {
  it('is the request, unchanged, inside <tramite-dev:Eco> naming the message, its sender and service', () => {
    const echo = echoOf(message());
    expect(echo).toBe(
      `<tramite-dev:Eco xmlns:tramite-dev="urn:tramite:dev-echo" messaggio="ComuneDemo_TramiteSPCoopIT_0000001_2026-12-06_10:00" mittente="SPC/ComuneDemo" servizio="EcoDemo">` +
        '<r:Richiesta xmlns:r="urn:esempio"><r:testo>ciao &amp; arrivederci</r:testo></r:Richiesta></tramite-dev:Eco>',
    );
  });

  it('reads back as what it names, whatever characters the action holds', () => {
    const { doc } = parseUntrustedXml(echoOf(message({ action: 'Azione"<&>' })));
    const root = doc.documentElement!;
    expect([root.namespaceURI, root.localName]).toEqual([DEV_ECHO_NS, 'Eco']);
    expect(root.getAttribute('azione')).toBe('Azione"<&>');
    expect(root.getAttribute('mittente')).toBe('SPC/ComuneDemo');
    expect(root.firstChild?.textContent).toBe('ciao & arrivederci');
  });
});

describe('dev-echo: the adapter contract', () => {
  it('passes the conformance kit: echoes a sincrono request, takes a oneway, refuses unknown options', async () => {
    const report = await checkAdapterConformance(devEcho, {
      options: {},
      party: DEV_IDENTITY.provider,
      invalidOptions: [{ options: { eco: 'sempre' }, field: 'eco' }],
      accepted: [message(), message({ id: 'oneway-1', service: DEV_IDENTITY.oneway, profile: 'oneway' })],
    });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('is declared development only', () => {
    expect(devEcho.developmentOnly).toBe(true);
  });
});

describe('dev-echo on a node', () => {
  it('is served by the development identity of tramite init, for the Regione, on both demo services', async () => {
    const host = await loadAdapters(() => undefined);
    expect(host.serving(DEV_IDENTITY.provider, DEV_IDENTITY.sincrono)?.id).toBe('dev-echo');
    expect(host.serving(DEV_IDENTITY.provider, DEV_IDENTITY.oneway)?.id).toBe('dev-echo');
    expect(host.serving(DEV_IDENTITY.consumer, DEV_IDENTITY.sincrono)).toBeUndefined();
  });

  it('stops the node from starting when its configuration does not say it is a development node', async () => {
    for (const edit of [
      (raw: { node: Record<string, unknown> }) => delete raw.node['development'],
      (raw: { node: Record<string, unknown> }) => (raw.node['development'] = false),
    ]) {
      const err = await loadAdapters(edit).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect(err).toMatchObject({ code: 'TRAMITE_ERR_DEVELOPMENT_ONLY', field: 'parties[1].adapters[0].use' });
      expect((err as Error).message).toContain('adapter dev-echo is for development only');
      expect((err as Error).message).toContain('"node": { "development": true }');
    }
  });
});
