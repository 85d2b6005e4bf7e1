/** The `alarms` section and `services[].stuckAfterSeconds` as the loader reads them: defaults, absolute paths, refusals. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { writeDemoFederation, type DemoNode } from '../../src/demo/demo-federation.js';
import { stuckAfterMsFor } from '../../src/node/alarms/stuck-threshold.js';
import { patchConfig } from '../../test-support/in-process-federation.js';

let cst: DemoNode;

beforeAll(async () => {
  ({ cst } = await writeDemoFederation(mkdtempSync(join(tmpdir(), 'tramite-alarm-config-')), () => 'http://127.0.0.1:9/', {
    plainHttp: true,
  }));
});

describe('alarms configuration', () => {
  it('fills every threshold with its default', () => {
    patchConfig(cst, (raw) => (raw.alarms = {}));
    expect(loadConfig(cst.configFile).alarms).toEqual({
      stuckAfterSeconds: 900,
      evaluateEverySeconds: 30,
      backlogJobs: 1000,
      peerFailingMinutes: 15,
      certificateDays: 30,
      checkpointLagRecords: 10_000,
      checkpointLagMinutes: 60,
      remindEveryMinutes: 60,
    });
  });

  it("makes the channels' files absolute and fills their defaults; a service's own stuck threshold wins", () => {
    patchConfig(cst, (raw) => {
      raw.alarms = {
        webhook: { url: 'https://reperibilita.example.it/allarmi', secretFile: 'secrets/webhook' },
        email: {
          smtp: { host: 'smtp.example.it', port: 587, user: 'tramite', passwordFile: 'secrets/smtp' },
          from: 'a@example.it',
          to: ['b@example.it'],
        },
      };
      raw.services[0].stuckAfterSeconds = 7200;
    });
    const config = loadConfig(cst.configFile);
    expect(config.alarms.webhook).toEqual({
      url: 'https://reperibilita.example.it/allarmi',
      secretFile: join(cst.dir, 'secrets/webhook'),
      timeoutMs: 5000,
      attempts: 3,
    });
    expect(config.alarms.email?.smtp).toMatchObject({ passwordFile: join(cst.dir, 'secrets/smtp'), secure: false, timeoutMs: 10_000 });
    expect(stuckAfterMsFor(config, config.services[0]!.name)).toBe(7_200_000);
    expect(stuckAfterMsFor(config, config.services[1]!.name)).toBe(900_000);
  });

  it('refuses a webhook that is not http(s) and an unknown setting, naming the field', () => {
    patchConfig(cst, (raw) => (raw.alarms = { webhook: { url: 'ftp://example.it/x' }, backlog: 5 }));
    let message = '';
    try {
      loadConfig(cst.configFile);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('config alarms.webhook.url');
    expect(message).toMatch(/config alarms.*backlog/);
  });
});
