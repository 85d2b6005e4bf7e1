/**
 * The one integration scenario for where a party's key lives (a PKCS#12 keystore, a PKCS#11 token…):
 * two real nodes, the CST's two parties signing only with keys from that source — ComuneFrancavillaAlMare
 * its RSA key, ComuneOrtona a new EC P-256 key certified by the CST's CA — their PEM keys deleted first,
 * so nothing else can sign. Each source's test file says how its keys are installed; the tests are the
 * same: each party sends, the EC one signs with ECDSA-SHA256, and it receives (its ricevuta is signed with
 * that key).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { inboundKey, outboundKey } from '../../src/core/message-record.js';
import { DemoBackOffice } from '../../src/demo/demo-back-office.js';
import { writeDemoFederation, type DemoNode } from '../../src/demo/demo-federation.js';
import { serveNode, type RunningNode } from '../../src/http/serve-node.js';
import { BUILTIN_ADAPTERS } from '../../adapters/builtin.js';
import { issueWithOpenssl, SIGNER_EXTENSIONS } from '../fixtures/openssl-certs.js';

export const FRANCAVILLA = 'SPC/ComuneFrancavillaAlMare';
export const ORTONA = 'SPC/ComuneOrtona';
const REGIONE = 'SPC/RegioneAbruzzo';
const ECDSA_SHA256 = 'SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"';

/**
 * The PEM files a source installs its keys from, in the CST's pki folder: Francavilla's RSA key and
 * certificate (`ComuneFrancavillaAlMare.key.pem`/`.cert.pem`, CA in `ca.cert.pem`) and Ortona's EC ones
 * (`ortona-ec.key.pem`/`.cert.pem`).
 */
export type PkiPath = (name: string) => string;

export interface PartyKeySource {
  /** The describe block's title. */
  readonly title: string;
  /** Prefix of the temporary folder. */
  readonly tmpPrefix: string;
  /** How the tests name each party's key, e.g. "legacy keystore" / "EC P-256 keystore" / "EC keystore". */
  readonly names: { readonly rsa: string; readonly ec: string; readonly ecShort: string };
  /** A word for the payloads, e.g. "keystore". */
  readonly payloadTag: string;
  /** How the receiving party's ricevuta is said to be signed, e.g. "with that key". */
  readonly signedWhere: string;
  /**
   * Puts the keys where the source keeps them, from the PEM files (deleted afterwards), and gives each
   * party's key fields for the config (replacing keyFile and certFile).
   */
  install(pki: PkiPath, root: string): Record<typeof FRANCAVILLA | typeof ORTONA, Record<string, unknown>>;
  /** Starts the CST node (default: as it is), e.g. with a passphrase variable set only meanwhile. */
  startCst?(start: () => Promise<RunningNode>): Promise<RunningNode>;
  /** What `install` changed outside the folder (environment variables), undone at the end. */
  cleanUp?(): void;
}

/** Registers the scenario's set-up, tear-down and tests for `source`. */
export function partiesSendAndReceiveWith(source: PartyKeySource): void {
  let root: string;
  let backOffice: DemoBackOffice;
  let nodes: { cst: DemoNode; regione: DemoNode };
  let cst: RunningNode;
  let regione: RunningNode;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), source.tmpPrefix));
    backOffice = new DemoBackOffice();
    await backOffice.start();
    nodes = await writeDemoFederation(root, (p) => backOffice.urlFor(p), { plainHttp: true });
    const pki: PkiPath = (name) => join(nodes.cst.dir, 'pki', name);
    // Ortona gets a new EC P-256 key, certified by the CST's CA (the CN binds it to the party).
    const ca = { certPem: readFileSync(pki('ca.cert.pem'), 'utf8'), keyPem: readFileSync(pki('ca.key.pem'), 'utf8') };
    const ec = issueWithOpenssl({ issuer: ca, subject: '/C=IT/O=SPC/CN=ComuneOrtona', key: 'ec-p256', extensions: SIGNER_EXTENSIONS });
    writeFileSync(pki('ortona-ec.key.pem'), ec.keyPem);
    writeFileSync(pki('ortona-ec.cert.pem'), ec.certPem);
    const keys = source.install(pki, root);
    for (const pem of ['ComuneFrancavillaAlMare.key.pem', 'ComuneOrtona.key.pem', 'ortona-ec.key.pem']) rmSync(pki(pem));

    const config = JSON.parse(readFileSync(nodes.cst.configFile, 'utf8'));
    for (const party of config.parties) {
      delete party.keyFile;
      delete party.certFile;
      Object.assign(party, keys[party.code as keyof typeof keys]);
    }
    writeFileSync(nodes.cst.configFile, JSON.stringify(config, null, 2));
    const start = () => serveNode(loadConfig(nodes.cst.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
    cst = await (source.startCst ? source.startCst(start) : start());
    regione = await serveNode(loadConfig(nodes.regione.configFile), { builtinAdapters: BUILTIN_ADAPTERS });
  });

  afterAll(async () => {
    await cst?.close();
    await regione?.close();
    await backOffice?.stop();
    source.cleanUp?.();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  async function send(from: string, service: string, payload: string, action?: string): Promise<Record<string, any>> {
    const res = await request(`${nodes.cst.baseUrl}/api/v1/messages?wait=20`, {
      method: 'POST',
      headers: { authorization: `Bearer ${nodes.cst.tokens[from]}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from, to: REGIONE, service, ...(action ? { action } : {}), payload }),
    });
    expect(res.statusCode).toBe(200);
    return (await res.body.json()) as Record<string, any>;
  }

  async function regioneApi(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: Record<string, any> }> {
    const res = await request(`${nodes.regione.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${nodes.regione.tokens[REGIONE]}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.statusCode, json: (await res.body.json()) as Record<string, any> };
  }

  describe(source.title, () => {
    it(`the party of the ${source.names.rsa} sends a message the Regione accepts and answers with a signed riscontro`, async () => {
      const payload = `<v:Variazione xmlns:v="urn:tramite:test"><v:tipo>${source.payloadTag} rsa</v:tipo></v:Variazione>`;
      const sent = await send(FRANCAVILLA, 'ComunicazioneVariazione', payload, 'Notifica');
      expect(sent.status, JSON.stringify(sent.error)).toBe('DELIVERED');
      expect(sent.receipt.signer).toContain('CN=RegioneAbruzzo');
      await expect.poll(() => backOffice.received.find((m) => m.id === sent.id)?.payload).toBe(payload);
    });

    it(`the party of the ${source.names.ec} sends too, signed with ECDSA-SHA256`, async () => {
      const payload = `<v:Variazione xmlns:v="urn:tramite:test"><v:tipo>${source.payloadTag} ec</v:tipo></v:Variazione>`;
      const sent = await send(ORTONA, 'ComunicazioneVariazione', payload, 'Notifica');
      expect(sent.status, JSON.stringify(sent.error)).toBe('DELIVERED');
      await expect.poll(() => backOffice.received.find((m) => m.id === sent.id)?.payload).toBe(payload);
      const received = (await regione.node.store.envelopeOf(inboundKey(sent.id, ORTONA)))!;
      expect(received).toContain(ECDSA_SHA256);
    });

    it(`the party of the ${source.names.ecShort} receives too: the Regione’s answer gets a ricevuta signed ${source.signedWhere}`, async () => {
      const sent = await send(ORTONA, 'RichiestaContributo', '<c:Domanda xmlns:c="urn:tramite:test"/>');
      expect(sent.status, JSON.stringify(sent.error)).toBe('DELIVERED');
      await expect.poll(() => backOffice.receivedBy(REGIONE, sent.id)).toBe(true);
      const answered = await regioneApi('POST', `/api/v1/messages/${encodeURIComponent(sent.id)}/answer`, {
        payload: '<e:Esito xmlns:e="urn:tramite:test"/>',
      });
      expect(answered.status).toBe(202);
      const answerId: string = answered.json.id;
      await expect.poll(() => backOffice.received.find((m) => m.id === answerId)?.party, { timeout: 20_000 }).toBe(ORTONA);
      await expect
        .poll(async () => (await regioneApi('GET', `/api/v1/messages/${encodeURIComponent(answerId)}`)).json.status, { timeout: 20_000 })
        .toBe('DELIVERED');
      const ricevuta = (await regione.node.store.replyEnvelopeOf(outboundKey(answerId)))!;
      expect(ricevuta).toContain(ECDSA_SHA256);
    });
  });
}
