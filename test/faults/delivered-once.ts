/**
 * What the fault tests check after a fault: every message accepted by the CST is DELIVERED there and
 * reaches the Regione's back office exactly once, and both nodes' logs verify.
 */
import { request } from 'undici';
import { expect } from 'vitest';
import type { RunningDemo } from '../../src/demo/run-demo.js';
import { runCli } from '../cli/run-cli.js';

export const FROM = 'SPC/ComuneOrtona';
export const TO = 'SPC/RegioneAbruzzo';

/** A oneway ComunicazioneVariazione from the Comune to the Regione; its id once accepted (202). */
export async function send(d: RunningDemo, n: number): Promise<string> {
  const res = await request(`${d.nodes.cst.baseUrl}/api/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${d.nodes.cst.tokens[FROM]}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      from: FROM,
      to: TO,
      service: 'ComunicazioneVariazione',
      action: 'Notifica',
      payload: `<v:N xmlns:v="urn:t">${n}</v:N>`,
    }),
  });
  expect(res.statusCode).toBe(202);
  return ((await res.body.json()) as { id: string }).id;
}

export async function statusOf(d: RunningDemo, id: string): Promise<{ status: string; attempts: number }> {
  const res = await request(`${d.nodes.cst.baseUrl}/api/v1/messages/${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${d.nodes.cst.tokens[FROM]}` },
  });
  return (await res.body.json()) as { status: string; attempts: number };
}

/** Every message DELIVERED at the sender, and at the destination back office exactly once. */
export async function expectDeliveredOnce(d: RunningDemo, ids: readonly string[]): Promise<void> {
  for (const id of ids) await expect.poll(async () => (await statusOf(d, id)).status, { timeout: 60_000, interval: 200 }).toBe('DELIVERED');
  await expect.poll(() => ids.every((id) => d.backOffice.receivedBy(TO, id)), { timeout: 10_000 }).toBe(true);
  await new Promise((r) => setTimeout(r, 300));
  for (const id of ids)
    expect(
      d.backOffice.received.filter((m) => m.id === id),
      id,
    ).toHaveLength(1);
}

export async function logsVerify(d: RunningDemo): Promise<void> {
  for (const n of [d.nodes.cst, d.nodes.regione]) {
    const r = await runCli(['log', 'verify', '--config', n.configFile, '--json']);
    expect(JSON.parse(r.stdout), n.name).toMatchObject({ ok: true });
  }
}
