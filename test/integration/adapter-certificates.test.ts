/**
 * The certificate files an adapter declares (AdapterDefinition.certificateFiles) in the node's
 * inventory: a module adapter written here, whose options name a CA file relative to its data folder.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNode } from '../../src/config/init-node.js';
import { loadConfig } from '../../src/config/load-config.js';
import { adapterCertificates } from '../../src/node/certificates/adapter-certificates.js';
import { CertificateInventory } from '../../src/node/certificates/certificate-inventory.js';
import { issueDated } from '../crypto/openssl-dated-certs.js';

let root: string;
let configFile: string;

/** An adapter module whose `certificateFiles` is the JavaScript given. */
function writeAdapter(name: string, certificateFiles: string): string {
  const file = join(root, `${name}.mjs`);
  writeFileSync(
    file,
    `export default {
      id: '${name}', version: '1.0.0', busApi: '^1', description: 'test adapter',
      optionsSchema: { type: 'object', additionalProperties: false, properties: { caFile: { type: 'string' }, level: { type: 'string', default: 'x' } } },
      setup() { throw new Error('not needed'); },
      certificateFiles: ${certificateFiles},
    };\n`,
  );
  return file;
}

function configWith(use: string): string {
  const raw = JSON.parse(readFileSync(configFile, 'utf8'));
  raw.parties[0].adapters = [{ use, options: { caFile: 'certs/provider-ca.cert.pem' } }];
  const file = join(root, 'node', `${use.split('/').pop()}.json`);
  writeFileSync(file, JSON.stringify(raw, null, 2));
  return file;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'tramite-adapter-certs-'));
  configFile = initNode({ dir: join(root, 'node'), parties: ['SPC/ComuneA'] }).configFile;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("adapters' certificate files", () => {
  it("are read from the adapter's data folder when relative, with the options' defaults applied, under a role naming adapter and party", async () => {
    const use = writeAdapter('cassetta', "(o) => (o.level === 'x' ? [{ role: 'provider CA', file: o.caFile }] : [])");
    const config = loadConfig(configWith(use));
    const dataDir = join(config.node.dataDir, 'adapters', 'ComuneA', 'cassetta');
    mkdirSync(join(dataDir, 'certs'), { recursive: true });
    const ca = issueDated({
      dir: join(dataDir, 'certs'),
      name: 'provider-ca',
      subject: '/C=IT/O=Gestore/CN=Provider CA',
      expiresInDays: 12.5,
      ca: true,
    });
    const list = new CertificateInventory(await adapterCertificates(config, {})).list(new Date());
    expect(list.map((e) => [e.role, e.source, e.subject, e.daysToExpiry])).toEqual([
      ['provider CA (adapter cassetta of SPC/ComuneA)', ca.certFile, 'CN=Provider CA, O=Gestore, C=IT', 12],
    ]);
  });

  it('a missing file is refused naming the adapter field and the file', async () => {
    const use = writeAdapter('altrove', "(o) => [{ role: 'provider CA', file: '/nowhere/' + o.caFile }]");
    await expect(adapterCertificates(loadConfig(configWith(use)), {})).rejects.toMatchObject({
      code: 'TRAMITE_ERR_CONFIG_UNREADABLE',
      message: expect.stringMatching(
        /^parties\[0\]\.adapters\[0\]\.options: provider CA: cannot read the certificate file \/nowhere\/certs\/provider-ca\.cert\.pem/,
      ),
    });
  });

  it('a certificateFiles that is not a function makes the module no adapter', async () => {
    const use = writeAdapter('storto', "'certs/ca.pem'");
    await expect(adapterCertificates(loadConfig(configWith(use)), {})).rejects.toMatchObject({
      code: 'TRAMITE_ERR_ADAPTER_INVALID',
      message: expect.stringContaining('certificateFiles must be a function'),
    });
  });
});
