import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { PROFILO_COLLABORAZIONE } from '../../envelopes/egov/egov-header.js';
import { initNode } from '../../src/config/init-node.js';
import { loadConfig, validateConfig } from '../../src/config/load-config.js';
import { configRefusal as refusal, problemAbout, writeConfigCase, type Json } from './config-cases.js';

let dir: string;
let base: Json;

const configWith = (edit: (config: Json) => void): string => writeConfigCase(dir, base, edit, 'case');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-config-'));
  const report = initNode({ dir, parties: ['SPC/ComuneA', 'SPC/ComuneB'] });
  base = JSON.parse(readFileSync(report.configFile, 'utf8'));
  // A peer, a service and a peer CA, so every section is exercised.
  base.peers = [{ name: 'regione', url: 'http://127.0.0.1:8081/tramite/envelope', parties: ['SPC/Regione'], caFile: 'pki/ca.cert.pem' }];
  base.services = [{ provider: 'SPC/Regione', name: 'Protocollo', profile: 'oneway', consumers: ['SPC/ComuneA'] }];
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadConfig on a valid file', () => {
  it('resolves paths against the config folder, loads keys and certificates, fills defaults', () => {
    const file = configWith(() => {});
    const config = loadConfig(file);
    expect(config.baseDir).toBe(dir);
    expect(config.configPath).toBe(file);
    expect(file.startsWith(join(dir, 'case-'))).toBe(true);
    expect(config.node.dataDir).toBe(join(dir, 'data'));
    expect(config.node.limits).toEqual({
      maxEnvelopeBytes: 5242880,
      maxDepth: 64,
      maxElements: 10_000,
      maxAttributes: 32,
      maxTotalAttributes: 20_000,
      maxNamespaceDeclarations: 16,
      maxTotalNamespaceDeclarations: 1_000,
    });
    expect(config.node.verification).toEqual({ queue: 32 });
    expect(config.node.clockSkewSeconds).toBe(5);
    expect(config.node.timestampMaxAgeSeconds).toBe(300);
    expect(config.trust.anchors).toHaveLength(1);
    expect(config.parties[1]!.certFile).toBe(join(dir, 'pki', 'ComuneB.cert.pem'));
    expect(config.parties[1]!.identity.code).toBe('SPC/ComuneB');
    expect(config.peers[0]!.caFile).toBe(join(dir, 'pki', 'ca.cert.pem'));
    expect(config.peers[0]!.caCertificates).toHaveLength(1);
    expect(config.services[0]).toEqual({
      provider: 'SPC/Regione',
      name: 'Protocollo',
      tipo: 'SPC',
      profile: 'oneway',
      envelope: 'egov',
      confermaRicezione: false,
      inoltro: 'EGOV_IT_PIUDIUNAVOLTA',
      consumers: ['SPC/ComuneA'],
    });
  });

  it('bounds a stop at 20 s and lists no operator token unless told; refuses an operator token in clear or a bound of 0', () => {
    const config = loadConfig(configWith((c) => delete c.node.operatorTokens));
    expect(config.node.shutdown.timeoutSeconds).toBe(20);
    expect(config.node.operatorTokens).toEqual([]);
    const err = refusal(
      configWith((c) => {
        c.node.shutdownTimeoutSeconds = 0;
        c.node.operatorTokens = ['secret-in-clear'];
      }),
    );
    expect(problemAbout(err, 'node.shutdownTimeoutSeconds')).toBeDefined();
    expect(problemAbout(err, 'node.operatorTokens[0]')).toContain('sha256:');
  });

  it('drains 5 s before closing unless told, reads the old name of the bound, refuses both names or a drain that leaves no time; installs nothing unless told', () => {
    const config = loadConfig(configWith(() => {}));
    expect(config.node.shutdown).toEqual({ drainSeconds: 5, timeoutSeconds: 20 });
    // The base case is tramite init's config, which lets its development node install its redis-server; without it, nothing is installed.
    expect(config.node.installPackages).toBe(true);
    expect(loadConfig(configWith((c) => delete c.node.installPackages)).node.installPackages).toBe(false);
    expect(loadConfig(configWith((c) => (c.node.shutdownTimeoutSeconds = 40))).node.shutdown).toEqual({
      drainSeconds: 5,
      timeoutSeconds: 40,
    });
    expect(loadConfig(configWith((c) => (c.node.shutdown = { drainSeconds: 0, timeoutSeconds: 7 }))).node.shutdown).toEqual({
      drainSeconds: 0,
      timeoutSeconds: 7,
    });
    const both = refusal(
      configWith((c) => {
        c.node.shutdownTimeoutSeconds = 30;
        c.node.shutdown = { drainSeconds: 5, timeoutSeconds: 30 };
      }),
    );
    expect(problemAbout(both, 'node.shutdownTimeoutSeconds')).toContain('shutdown.timeoutSeconds');
    const tooLong = refusal(configWith((c) => (c.node.shutdown = { drainSeconds: 20, timeoutSeconds: 20 })));
    expect(problemAbout(tooLong, 'node.shutdown.drainSeconds')).toContain('less than 20');
    const unknown = refusal(configWith((c) => (c.node.shutdown = { drainSeconds: 1, timeoutSecs: 20 } as never)));
    expect(problemAbout(unknown, 'node.shutdown.timeoutSecs')).toBeDefined();
  });

  it('is frozen all the way down', () => {
    const config = loadConfig(configWith(() => {}));
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.node.listen)).toBe(true);
    expect(Object.isFrozen(config.parties[0]!.apiTokens)).toBe(true);
    expect(Object.isFrozen(config.services[0]!.consumers)).toBe(true);
    expect(() => {
      (config.node.listen as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('accepts an optional $schema reference and a peer without caFile', () => {
    const config = loadConfig(
      configWith((c) => {
        c.$schema = '../schemas/config.schema.json';
        delete c.peers[0].caFile;
      }),
    );
    expect(config.peers[0]!.caFile).toBeUndefined();
    expect(config.peers[0]!.caCertificates).toEqual([]);
  });

  it('validateConfig leaves the object it is given unchanged', () => {
    const raw = structuredClone(base);
    const config = validateConfig(raw, dir);
    expect(raw).toEqual(base);
    expect(config.configPath).toBeUndefined();
    expect(config.parties).toHaveLength(2);
  });
});

describe('loadConfig refusals name the field and the fix', () => {
  it('a misspelt property: names it, suggests the right one, lists the allowed ones', () => {
    const err = refusal(
      configWith((c) => {
        c.node.lisen = c.node.listen;
        delete c.node.listen;
      }),
    );
    expect(err.code).toBe('TRAMITE_ERR_CONFIG_INVALID');
    const line = problemAbout(err, 'node.lisen');
    expect(line).toContain('did you mean "listen"?');
    expect(line).toContain('use one of: name, soggetto, pdd, dataDir, listen');
    expect(err.message).not.toContain('config node.listen:'); // not reported twice
    expect(err.field).toBe('node.lisen');
  });

  it('a value outside an enum: lists the allowed values', () => {
    const err = refusal(
      configWith((c) => {
        c.services[0].profile = 'sincron';
      }),
    );
    const line = problemAbout(err, 'services[0].profile');
    expect(line).toContain('"sincron" is not an allowed value');
    expect(line).toContain('"oneway", "sincrono", "asincronoSimmetrico", "asincronoAsimmetrico"');
  });

  it('a party code of the wrong form: shows the expected form with an example', () => {
    const err = refusal(
      configWith((c) => {
        c.parties[0].code = 'SPC-ComuneA';
      }),
    );
    const line = problemAbout(err, 'parties[0].code');
    expect(line).toContain('"SPC-ComuneA" does not have the expected form');
    expect(line).toContain('fix: write it like "SPC/ComuneA"');
  });

  it('a file that does not exist: names the field and the absolute path', () => {
    const err = refusal(
      configWith((c) => {
        c.parties[0].certFile = 'pki/Nope.cert.pem';
        c.trust.caFiles.push('elsewhere/ca.pem');
      }),
    );
    expect(problemAbout(err, 'parties[0].certFile')).toContain(`file ${join(dir, 'pki', 'Nope.cert.pem')} does not exist`);
    expect(problemAbout(err, 'trust.caFiles[1]')).toContain(`relative paths start from ${dir}`);
  });

  it('a party hosted twice', () => {
    const err = refusal(
      configWith((c) => {
        c.parties.push({ ...c.parties[0] });
      }),
    );
    expect(problemAbout(err, 'parties[2].code')).toContain('"SPC/ComuneA" is already hosted by parties[0]');
  });

  it('a service whose provider is neither hosted nor on a peer', () => {
    const err = refusal(
      configWith((c) => {
        c.services[0].provider = 'SPC/Regone';
      }),
    );
    const line = problemAbout(err, 'services[0].provider');
    expect(line).toContain('"SPC/Regone" is neither hosted here nor listed by any peer');
    expect(line).toContain('did you mean "SPC/Regione"?');
  });

  it('asincrono simmetrico: the correlated service must exist at each consumer, and belongs to that profile only', () => {
    const err = refusal(
      configWith((c) => {
        c.services = [
          {
            provider: 'SPC/Regione',
            name: 'Contributo',
            profile: 'asincronoSimmetrico',
            correlatedService: 'Esito',
            consumers: ['SPC/ComuneA', 'SPC/ComuneB'],
          },
          { provider: 'SPC/ComuneA', name: 'Esito', profile: 'asincronoSimmetrico', consumers: ['SPC/Regione'] },
          { provider: 'SPC/Regione', name: 'Avviso', profile: 'oneway', correlatedService: 'Esito' },
          { provider: 'SPC/Regione', name: 'Orfano', profile: 'asincronoSimmetrico' },
        ];
      }),
    );
    const missing = problemAbout(err, 'services[0].correlatedService');
    expect(missing).toContain('consumer SPC/ComuneB offers no asincronoSimmetrico service "Esito"');
    expect(missing).toContain('"provider": "SPC/ComuneB", "name": "Esito"');
    expect(problemAbout(err, 'services[2].correlatedService')).toContain('a oneway service has no correlated answer');
    expect(problemAbout(err, 'services[3]')).toContain('neither names its correlatedService nor is named as one');
    expect(err.message).not.toContain('services[1]');
  });

  it('ModI patterns: a ModI service without them gets ID_AUTH_SOAP_02 + INTEGRITY_SOAP_01, one that declares them keeps them', () => {
    const config = loadConfig(
      configWith((c) => {
        c.services = [
          { provider: 'SPC/Regione', name: 'Anagrafe', profile: 'sincrono', envelope: 'modi' },
          { provider: 'SPC/Regione', name: 'Tributi', profile: 'sincrono', envelope: 'modi', modiPatterns: ['ID_AUTH_SOAP_01'] },
          { provider: 'SPC/Regione', name: 'Protocollo', profile: 'oneway' },
        ];
      }),
    );
    expect(config.services.map((s) => s.modiPatterns)).toEqual([['ID_AUTH_SOAP_02', 'INTEGRITY_SOAP_01'], ['ID_AUTH_SOAP_01'], undefined]);
  });

  it('ModI patterns: one ID_AUTH pattern exactly, on ModI services only, known names only', () => {
    const err = refusal(
      configWith((c) => {
        c.services = [
          {
            provider: 'SPC/Regione',
            name: 'Due',
            profile: 'sincrono',
            envelope: 'modi',
            modiPatterns: ['ID_AUTH_SOAP_01', 'ID_AUTH_SOAP_02'],
          },
          { provider: 'SPC/Regione', name: 'Nessuno', profile: 'sincrono', envelope: 'modi', modiPatterns: ['INTEGRITY_SOAP_01'] },
          { provider: 'SPC/Regione', name: 'Egov', profile: 'sincrono', modiPatterns: ['ID_AUTH_SOAP_01'] },
        ];
      }),
    );
    expect(problemAbout(err, 'services[0].modiPatterns')).toContain(
      'names ID_AUTH_SOAP_01 and ID_AUTH_SOAP_02; a service has one ID_AUTH pattern',
    );
    expect(problemAbout(err, 'services[1].modiPatterns')).toContain('names no ID_AUTH pattern');
    expect(problemAbout(err, 'services[2].modiPatterns')).toContain('an egov service has no ModI patterns');
    const typo = refusal(
      configWith((c) => {
        c.services = [
          { provider: 'SPC/Regione', name: 'Tributi', profile: 'sincrono', envelope: 'modi', modiPatterns: ['ID_AUTH_SOAP_1'] },
        ];
      }),
    );
    expect(problemAbout(typo, 'services[0].modiPatterns[0]')).toContain('did you mean "ID_AUTH_SOAP_01"?');
  });

  it('a peer that lists a party hosted here, and a party on two peers', () => {
    const err = refusal(
      configWith((c) => {
        c.peers[0].parties.push('SPC/ComuneB');
        c.peers.push({ name: 'altro', url: 'http://127.0.0.1:8082/', parties: ['SPC/Regione'] });
      }),
    );
    expect(problemAbout(err, 'peers[0].parties[1]')).toContain('"SPC/ComuneB" is hosted by this node');
    expect(problemAbout(err, 'peers[1].parties[0]')).toContain('also listed by peer "regione"');
  });

  it('fills the HTTP limits with their defaults', () => {
    const config = loadConfig(configWith(() => {}));
    expect(config.node.http).toEqual({
      headersTimeoutMs: 10000,
      requestTimeoutMs: 60000,
      keepAliveTimeoutMs: 5000,
      idleTimeoutMs: 180000,
      maxConnections: 512,
      maxBodyBytesInFlight: 67108864,
      rateLimits: { api: { max: 3000, windowSeconds: 60 }, envelope: { max: 6000, windowSeconds: 60 } },
    });
  });

  it('HTTP limits that contradict each other: headers timeout beyond the request timeout, a body budget below one envelope', () => {
    const err = refusal(
      configWith((c) => {
        c.node.http = { headersTimeoutMs: 20000, requestTimeoutMs: 10000, maxBodyBytesInFlight: 1024 };
      }),
    );
    expect(problemAbout(err, 'node.http.headersTimeoutMs')).toContain('longer than requestTimeoutMs');
    expect(problemAbout(err, 'node.http.maxBodyBytesInFlight')).toContain('at least 5242880');
  });

  it('wrong types and ranges', () => {
    const err = refusal(
      configWith((c) => {
        c.node.listen.port = '8080';
        c.node.limits = { maxDepth: 100000 };
        c.parties[0].apiTokens = ['secret-in-clear'];
      }),
    );
    expect(problemAbout(err, 'node.listen.port')).toContain('must be an integer, not the string "8080" — fix: write an integer, e.g. 8080');
    expect(problemAbout(err, 'node.limits.maxDepth')).toContain('use a number from 8 to 1024');
    expect(problemAbout(err, 'parties[0].apiTokens[0]')).toContain('sha256:');
  });

  it('a missing required property, with an example', () => {
    const err = refusal(
      configWith((c) => {
        delete c.node.pdd;
      }),
    );
    expect(problemAbout(err, 'node.pdd')).toContain('is missing — fix: add "pdd", e.g. "CSTChietiSPCoopIT"');
  });

  it('lists every problem at once', () => {
    const err = refusal(
      configWith((c) => {
        c.node.name = 'has spaces';
        c.node.colour = 'blue';
        c.services[0].envelope = 'soap';
      }),
    );
    expect(err.message).toMatch(/is invalid \(3 problems\):\n/);
    expect(err.message.split('\n').filter((l) => l.startsWith('config '))).toHaveLength(3);
  });

  it('a key that does not match its certificate: TRAMITE_ERR_KEY_INVALID naming the party', () => {
    const err = refusal(
      configWith((c) => {
        c.parties[0].keyFile = c.parties[1].keyFile;
      }),
    );
    expect(err.code).toBe('TRAMITE_ERR_KEY_INVALID');
    expect(err.field).toBe('parties[0]');
    expect(err.message).toMatch(/^config parties\[0\]: .*does not belong to the certificate/);
  });

  it('a trust file that holds no certificate', () => {
    const err = refusal(
      configWith((c) => {
        c.trust.caFiles = [c.parties[0].keyFile];
      }),
    );
    expect(err.code).toBe('TRAMITE_ERR_KEY_INVALID');
    expect(err.message).toContain('config trust.caFiles[0]:');
  });
});

describe('loadConfig on files that cannot be read', () => {
  it('a missing config file names the path', () => {
    try {
      loadConfig(join(dir, 'absent.json'));
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).code).toBe('TRAMITE_ERR_CONFIG_UNREADABLE');
      expect((err as ConfigError).message).toContain(`${join(dir, 'absent.json')} does not exist`);
    }
  });

  it.each([
    ['a trailing comma', '{\n  "node": {},\n}\n', 3, 1],
    ['single quotes', '{\n  "node": \'x\'\n}\n', 2, 11],
    ['a comment', '{\n  // the node\n  "node": {}\n}\n', 2, 3],
    ['a truncated file', '{\n  "node": {', 2, 12],
  ])('invalid JSON (%s) gives line and column', (_name, text, line, column) => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, text);
    try {
      loadConfig(file);
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).code).toBe('TRAMITE_ERR_CONFIG_UNREADABLE');
      expect((err as ConfigError).message).toContain(`${file} is not valid JSON at line ${line}, column ${column}:`);
    }
  });

  it('a folder where the file should be', () => {
    mkdirSync(join(dir, 'folder.json'));
    expect(() => loadConfig(join(dir, 'folder.json'))).toThrow(/is a folder/);
  });
});

describe('schemas/config.schema.json', () => {
  const schema = JSON.parse(readFileSync(new URL('../../schemas/config.schema.json', import.meta.url), 'utf8')) as Json;

  it('offers exactly the collaboration profiles the envelopes know', () => {
    expect(schema.properties.services.items.else.properties.profile.enum).toEqual(Object.keys(PROFILO_COLLABORAZIONE));
  });

  it("documents every property and refuses unknown ones everywhere (adapter options: by the adapter's own schema)", () => {
    const walk = (node: Json, path: string): void => {
      if (node.type === 'object') {
        expect(node.additionalProperties, path).toBe(path === '(root).parties[].adapters[].options');
        for (const [key, child] of Object.entries(node.properties as Record<string, Json>)) {
          expect(child.description, `${path}.${key}`).toBeTruthy();
          walk(child, `${path}.${key}`);
        }
      }
      if (node.type === 'array') walk(node.items, `${path}[]`);
      // services[]: a SOAP service, or a REST API (then) — the if only tells them apart.
      if (node.then) walk(node.then, `${path}(rest)`);
      if (node.else) walk(node.else, path);
    };
    walk(schema, '(root)');
  });
});
