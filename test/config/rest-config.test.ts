/** REST APIs and PDND in the configuration: defaults filled, and every inconsistency refused with the field and the fix. */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNode } from '../../src/config/init-node.js';
import { validateConfig } from '../../src/config/load-config.js';
import { ConfigError } from '../../src/core/errors.js';

type Json = Record<string, any>;

let dir: string;
let base: Json;

const PDND = {
  tokenEndpoint: 'https://auth.uat.interop.pagopa.it/token.oauth2',
  assertionAudience: 'auth.uat.interop.pagopa.it/client-assertion',
  issuer: 'uat.interop.pagopa.it',
  jwksUrl: 'https://uat.interop.pagopa.it/.well-known/jwks.json',
};

/** An API of the peer's Regione, which ComuneA calls. */
const consumed = (api: Json = {}): Json => ({
  provider: 'SPC/Regione',
  name: 'anagrafe',
  consumers: ['SPC/ComuneA'],
  api: { kind: 'rest', profiles: ['ID_AUTH_REST_02', 'INTEGRITY_REST_01'], audience: 'urn:regione:anagrafe:v1', ...api },
});

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tramite-rest-config-'));
  base = JSON.parse(readFileSync(initNode({ dir, parties: ['SPC/ComuneA'] }).configFile, 'utf8')) as Json;
  base['peers'] = [
    { name: 'regione', url: 'https://regione.example:8444/tramite/envelope', parties: ['SPC/Regione'], tls: { caFile: 'pki/ca.cert.pem' } },
  ];
  writeFileSync(
    join(dir, 'pdnd.key.pem'),
    generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(edit: (c: Json) => void) {
  const config = structuredClone(base);
  edit(config);
  return validateConfig(config, dir);
}

function refusal(edit: (c: Json) => void): string {
  try {
    load(edit);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the config to be refused');
}

describe('REST APIs in the configuration', () => {
  it("an API on a peer is a REST service, not a SOAP one, with its defaults and the provider's URL from its peer", () => {
    const config = load((c) => c['services'].push(consumed()));
    expect(config.services).toEqual([]);
    const [api] = config.restServices;
    expect(api!.api).toMatchObject({
      version: 'v1',
      url: 'https://regione.example:8444/rest/in/anagrafe/v1',
      emptyBody: 'refuse',
      maxBodyBytes: 10 * 1024 * 1024,
      tokenLifetimeSeconds: 300,
      audit: { claims: ['userID', 'userLocation', 'LoA'] },
    });
  });

  it('PDND settings load: the party key file read, pdnd.audience and purposes defaulted', () => {
    const config = load((c) => {
      c['pdnd'] = PDND;
      c['parties'][0].pdnd = { tenantId: 't-a', clientId: 'client-a', kid: 'kid-a', keyFile: 'pdnd.key.pem' };
      c['services'].push(consumed({ pdnd: { purposeId: 'p-1' } }));
    });
    expect(config.parties[0]!.pdnd!.client).toMatchObject({ clientId: 'client-a', kid: 'kid-a' });
    expect(config.restServices[0]!.api.pdnd).toEqual({ purposeId: 'p-1', purposes: ['p-1'], audience: 'urn:regione:anagrafe:v1' });
  });

  it('refuses pattern sets the guidelines do not define, naming the field', () => {
    expect(refusal((c) => c['services'].push(consumed({ profiles: ['ID_AUTH_REST_01', 'ID_AUTH_REST_02'] })))).toContain(
      'config services[0].api.profiles: 2 ID_AUTH patterns',
    );
    expect(refusal((c) => c['services'].push(consumed({ profiles: ['ID_AUTH_REST_01', 'INTEGRITY_REST_02'] })))).toContain(
      'INTEGRITY_REST_02 work only with PDND vouchers',
    );
    expect(
      refusal((c) => {
        c['pdnd'] = PDND;
        c['parties'][0].pdnd = { tenantId: 't-a', clientId: 'client-a', kid: 'kid-a', keyFile: 'pdnd.key.pem' };
        c['services'].push(consumed({ profiles: ['ID_AUTH_REST_02'], pdnd: { purposeId: 'p-1' } }));
      }),
    ).toContain('ID_AUTH_REST_02 needs an INTEGRITY pattern');
    expect(refusal((c) => c['services'].push(consumed({ profiles: ['ID_AUTH_SOAP_01'] })))).toContain('services[0].api.profiles[0]');
  });

  it('refuses PDND use without the PDND it needs', () => {
    expect(refusal((c) => c['services'].push(consumed({ pdnd: { purposeId: 'p-1' } })))).toContain(
      'config services[0].api.pdnd: no PDND is configured',
    );
    expect(
      refusal((c) => {
        c['pdnd'] = PDND;
        c['services'].push(consumed({ pdnd: { purposeId: 'p-1' } }));
      }),
    ).toContain("config parties[0].pdnd: SPC/ComuneA calls anagrafe, which needs a PDND voucher — fix: add the party's pdnd block");
    expect(
      refusal((c) => {
        c['pdnd'] = PDND;
        c['parties'][0].pdnd = { tenantId: 't-a', clientId: 'client-a', kid: 'kid-a', keyFile: 'pdnd.key.pem' };
        c['services'].push(consumed({ profiles: ['ID_AUTH_REST_01', 'INTEGRITY_REST_02'], pdnd: { purposeId: 'p-1' } }));
      }),
    ).toContain('api.pdnd.providerClientId');
  });

  it('refuses an API provided here without a back office to forward to', () => {
    expect(
      refusal((c) =>
        c['services'].push({
          provider: 'SPC/ComuneA',
          name: 'tributi',
          api: { kind: 'rest', profiles: ['ID_AUTH_REST_01'], audience: 'urn:a' },
        }),
      ),
    ).toContain(
      'config services[0].api: the provider SPC/ComuneA is hosted here, so requests need a back office to go to — fix: add api.upstream.url',
    );
  });

  it('refuses SOAP fields on a REST API and REST fields on a SOAP service', () => {
    expect(refusal((c) => c['services'].push({ ...consumed(), profile: 'sincrono' }))).toContain('services[0].profile');
    expect(refusal((c) => c['services'].push({ provider: 'SPC/Regione', name: 'X', profile: 'sincrono', audience: 'a' }))).toContain(
      'services[0].audience',
    );
  });
});
