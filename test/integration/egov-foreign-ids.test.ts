/**
 * A party must not speak with another party's message ids: between two real nodes, a request signed
 * by the Regione whose Identificatore is issued under a Comune's code is refused by the reader
 * (EGOV_IT_110, before any signature, log or back office), while the same request with the Regione's
 * own id gets as far as the log checks.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEnvelope, readPlainFault } from '../../envelopes/envelope.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { DemoNode } from '../../src/demo/demo-federation.js';
import { sealRequest } from '../../envelopes/busta/request.js';
import { callApi, startFederation, type InProcessFederation } from '../../test-support/in-process-federation.js';

const ORTONA = 'SPC/ComuneOrtona';
const FRANCAVILLA = 'SPC/ComuneFrancavillaAlMare';
const REGIONE = 'SPC/RegioneAbruzzo';

let federation: InProcessFederation;
let nodes: { cst: DemoNode; regione: DemoNode };

beforeAll(async () => {
  federation = await startFederation('foreign-ids');
  ({ nodes } = federation);
});

afterAll(() => federation?.close());

const serial = () => String(Math.floor(Math.random() * 9_000_000) + 1_000_000);

/** A request to Ortona's correlated service, signed by the Regione's own key, with the id given. */
async function signedByRegione(id: string): Promise<string> {
  const config = loadConfig(nodes.regione.configFile);
  const party = config.parties.find((p) => p.code === REGIONE)!;
  return await sealRequest(
    {
      id,
      now: new Date(),
      from: REGIONE,
      to: ORTONA,
      service: config.services.find((s) => s.name === 'EsitoPratica' && s.provider === ORTONA)!,
      payload: '<e:Esito xmlns:e="urn:t"/>',
    },
    party.identity,
  );
}

async function postToCst(xml: string): Promise<{ status: number; text: string }> {
  const res = await request(`${federation.cst.baseUrl}/tramite/envelope`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8' },
    body: xml,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

describe("message ids issued under another party's code", () => {
  it("a signed request whose Identificatore carries a Comune's code → EGOV_IT_110, refused before it is logged", async () => {
    const forged = `ComuneFrancavillaAlMare_CSTChietiSPCoopIT_${serial()}_2026-01-01_00:00`;
    const res = await postToCst(await signedByRegione(forged));
    expect(res.status).toBe(500);
    const fault = readPlainFault(res.text);
    expect(fault?.string).toMatch(/^EGOV_IT_110 - /);
    // A plain Fault, not a busta signed by Ortona: the request was never trusted.
    expect(() => readEnvelope(res.text)).toThrow();
    // Nothing of it is in the CST's log, under either party.
    expect((await callApi(nodes.cst, FRANCAVILLA, 'GET', `/api/v1/messages/${encodeURIComponent(forged)}`)).status).toBe(404);
    expect((await callApi(nodes.cst, ORTONA, 'GET', `/api/v1/messages/${encodeURIComponent(forged)}`)).status).toBe(404);
  });

  it("control: the same request with the Regione's own id passes the reader and the signature (refused later, in a signed busta, for its missing reference)", async () => {
    const res = await postToCst(await signedByRegione(`RegioneAbruzzo_RegioneAbruzzoSPCoopIT_${serial()}_2026-01-01_00:00`));
    expect(res.status).toBe(500);
    expect(readEnvelope(res.text).egov!.eccezioni.map((e) => e.codiceEccezione)).toEqual(['EGOV_IT_109']);
  });
});
