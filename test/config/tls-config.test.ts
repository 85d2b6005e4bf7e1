import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNode } from '../../src/config/init-node.js';
import { validateConfig } from '../../src/config/load-config.js';
import { ConfigError } from '../../src/core/errors.js';

type Json = Record<string, any>;

let dir: string;
let base: Json;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-tls-config-'));
  base = JSON.parse(readFileSync(initNode({ dir, parties: ['SPC/ComuneA'] }).configFile, 'utf8')) as Json;
  base['peers'] = [
    { name: 'regione', url: 'https://127.0.0.1:8444/tramite/envelope', parties: ['SPC/Regione'], tls: { caFile: 'pki/ca.cert.pem' } },
  ];
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function refusal(edit: (c: Json) => void): string {
  const config = structuredClone(base);
  edit(config);
  try {
    validateConfig(config, dir);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the config to be refused');
}

describe('TLS settings', () => {
  it("tramite init's config listens over TLS, asks for client certificates and loads the chain and key", () => {
    const config = validateConfig(base, dir);
    const tls = config.node.listen.tls!;
    expect(tls.requestCert).toBe(true);
    expect(tls.requireClientCert).toBe(false);
    expect(tls.material.certificate.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(tls.material.certificate.subjectAltName).toContain('DNS:localhost');
    expect(tls.clientCaPem[0]).toContain('BEGIN CERTIFICATE');
    // The peer presents the listener's certificate unless it names its own.
    expect(config.peers[0]!.tls!.client!.certificate.fingerprint256).toBe(tls.material.certificate.fingerprint256);
  });

  it('refuses a listener with neither tls nor plainHttp, or with both', () => {
    expect(
      refusal((c) => {
        c['node'].listen = { host: '127.0.0.1', port: 0 };
      }),
    ).toContain('node.listen: has neither tls nor plainHttp: true');
    expect(
      refusal((c) => {
        c['node'].listen.plainHttp = true;
      }),
    ).toContain('node.listen.plainHttp: is true together with tls');
  });

  it('refuses requireClientCert without requestCert, and requestCert without client CAs', () => {
    expect(
      refusal((c) => {
        c['node'].listen.tls.requestCert = false;
        c['node'].listen.tls.requireClientCert = true;
      }),
    ).toContain('node.listen.tls.requestCert');
    expect(
      refusal((c) => {
        c['node'].listen.tls.clientCaFiles = [];
      }),
    ).toContain('node.listen.tls.clientCaFiles: is empty');
  });

  it('refuses an https peer without tls, an http peer with it, and a client certificate without its key', () => {
    expect(
      refusal((c) => {
        delete c['peers'][0].tls;
      }),
    ).toContain('peers[0].tls: is missing for https peer "regione"');
    expect(
      refusal((c) => {
        c['peers'][0].url = 'http://127.0.0.1:8081/tramite/envelope';
      }),
    ).toContain('peers[0].url: is not https://');
    expect(
      refusal((c) => {
        c['peers'][0].tls.certFile = 'pki/tls.cert.pem';
      }),
    ).toContain('peers[0].tls.keyFile: is missing');
  });

  it('refuses a key that is not the certificate’s, and a client certificate name that is no DN', () => {
    expect(
      refusal((c) => {
        c['node'].listen.tls.keyFile = 'pki/ComuneA.key.pem';
      }),
    ).toMatch(/node\.listen\.tls\.keyFile: .*is not the unencrypted private key of/);
    expect(
      refusal((c) => {
        c['peers'][0].tls.clientCertificates = [{ subject: 'not a name', issuer: 'CN=CA' }];
      }),
    ).toContain('peers[0].tls.clientCertificates[0].subject');
  });
});
