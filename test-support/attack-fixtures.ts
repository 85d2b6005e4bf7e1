/**
 * The attack corpus under test/fixtures/attacks: signed envelopes of both profiles, each changed after
 * signing the way a real attack would (tampering, signature wrapping, a swapped certificate, a second
 * Security header, an untrusted signer, a stale Timestamp), written as files a reader can open and diff
 * against the untouched control envelope of the same profile.
 *
 * The files are committed; this module is how they were made and how to make them again:
 * `npm run build && node dist/test-support/attack-fixtures.js` rewrites every envelope and the manifest
 * (attacks.json) from the fixture PKI in test/fixtures/attacks/pki (made once, valid for twenty years,
 * kept so that regenerating does not change who signed). test/envelopes/security/attack-fixtures.test.ts
 * reads the files and the manifest; it never calls this module.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { buildEgovEnvelope, buildModiEnvelope, sealEnvelope, type EnvelopeProfile } from '../envelopes/envelope.js';
import { NS } from '../envelopes/xml/namespaces.js';
import type { Signer } from '../src/core/signer.js';
import { memorySigner } from '../src/crypto/signer/memory-signer.js';
import { createDevPki, devCaFiles, devPartyFiles } from '../src/crypto/dev-pki.js';
import { formatMessageId } from '../src/core/message-id.js';
import { formatXsdDateTime } from '../src/core/xsd-datetime.js';

/** When every fixture envelope was signed; the test verifies them as of a minute later. */
export const SIGNED_AT = new Date('2026-12-06T09:00:00Z');

/** What a fixture must provoke: acceptance, or a refusal of a given class, code and reason. */
export type Expectation =
  | { readonly outcome: 'accepted' }
  | {
      readonly outcome: 'refused';
      readonly error: 'SecurityError' | 'EnvelopeError';
      readonly code: string;
      readonly reason?: string;
      readonly posizione?: string;
    };

export interface ManifestEntry {
  readonly file: string;
  readonly profile: EnvelopeProfile;
  /** What the file reproduces, in one sentence. */
  readonly what: string;
  readonly expect: Expectation;
}

interface Attack {
  readonly name: string;
  readonly what: string;
  readonly expect: (profile: EnvelopeProfile) => Expectation;
  /** Signed by the rogue CA's ComuneA instead of the federation's. */
  readonly rogue?: boolean;
  /** Signed this many seconds before SIGNED_AT (a stale Timestamp). */
  readonly signedSecondsEarlier?: number;
  /** The change made after signing; absent for envelopes that are refused as signed. */
  readonly change?: (doc: Document, profile: EnvelopeProfile, ctx: AttackContext) => void;
}

interface AttackContext {
  /** Another envelope of the same profile, signed by the same party a second later. */
  readonly otherSigned: Document;
  readonly regioneCertBase64: string;
}

const EVIL = 'urn:evil:wrapper';
const sec = (reason: string, posizione?: string): Expectation => ({
  outcome: 'refused',
  error: 'SecurityError',
  code: reason.startsWith('TRAMITE_ERR_CERT_') ? 'EGOV_IT_200' : 'EGOV_IT_202',
  reason,
  ...(posizione ? { posizione } : {}),
});

export const ATTACKS: readonly Attack[] = [
  {
    name: 'control',
    what: 'the envelope as signed: accepted (every other file is this one, changed)',
    expect: () => ({ outcome: 'accepted' }),
  },
  {
    name: 'body-one-character-changed',
    what: 'one character of the signed Body changed after signing',
    expect: () => sec('TRAMITE_ERR_SIG_DIGEST', 'Body'),
    change: (doc) => {
      const r = first(doc, 'urn:tramite:test:pratica', 'Richiedente');
      r.textContent = 'Mario Rosso';
    },
  },
  {
    name: 'signature-value-changed',
    what: 'one character of the SignatureValue changed',
    expect: () => sec('TRAMITE_ERR_SIG_VALUE'),
    change: (doc) => {
      const sv = first(doc, NS.ds, 'SignatureValue');
      const v = sv.textContent ?? '';
      const i = Math.floor(v.length / 2);
      sv.textContent = v.slice(0, i) + (v[i] === 'A' ? 'B' : 'A') + v.slice(i + 1);
    },
  },
  {
    name: 'timestamp-expires-pushed-forward',
    what: 'the signed wsu:Expires pushed a day forward to keep the envelope alive',
    expect: () => sec('TRAMITE_ERR_SIG_DIGEST', 'Security/Timestamp'),
    change: (doc) => {
      first(doc, NS.wsu, 'Expires').textContent = formatXsdDateTime(new Date(SIGNED_AT.getTime() + 24 * 3600_000));
    },
  },
  {
    name: 'certificate-swapped',
    what: "the BinarySecurityToken replaced by another trusted party's certificate, signature unchanged",
    expect: () => sec('TRAMITE_ERR_SIG_VALUE'),
    change: (doc, _p, ctx) => {
      first(doc, NS.wsse, 'BinarySecurityToken').textContent = ctx.regioneCertBase64;
    },
  },
  {
    name: 'body-moved-into-header-wrapper',
    what: 'signature wrapping: the signed Body moved into a foreign header block, a forged Body without Id in its place',
    expect: () => sec('TRAMITE_ERR_SIG_WRAPPING'),
    change: (doc) => {
      const body = first(doc, NS.soap11, 'Body');
      const envelope = body.parentNode!;
      wrapperHeader(doc).appendChild(body);
      envelope.appendChild(forgedBody(doc));
    },
  },
  {
    name: 'body-nested-in-forged-body',
    what: 'signature wrapping: the signed Body hidden inside a forged Body',
    expect: () => sec('TRAMITE_ERR_SIG_WRAPPING'),
    change: (doc) => {
      const body = first(doc, NS.soap11, 'Body');
      const forged = forgedBody(doc);
      body.parentNode!.replaceChild(forged, body);
      const hide = doc.createElementNS(EVIL, 'w:Hidden');
      forged.appendChild(hide);
      hide.appendChild(body);
    },
  },
  {
    name: 'body-id-duplicated-in-header',
    what: "signature wrapping: a decoy header block carrying the Body's wsu:Id",
    expect: () => sec('TRAMITE_ERR_SIG_WRAPPING'),
    change: (doc) => {
      const decoy = wrapperHeader(doc);
      decoy.setAttributeNS(NS.xmlns, 'xmlns:wsu', NS.wsu);
      decoy.setAttributeNS(NS.wsu, 'wsu:Id', first(doc, NS.soap11, 'Body').getAttributeNS(NS.wsu, 'Id') ?? '');
    },
  },
  {
    name: 'second-security-header-first',
    what: 'a second wsse:Security header, copied from another signed envelope, placed before the real one',
    expect: () => sec('TRAMITE_ERR_SIG_WRAPPING'),
    change: (doc, _p, ctx) => {
      const header = first(doc, NS.soap11, 'Header');
      header.insertBefore(doc.importNode(first(ctx.otherSigned, NS.wsse, 'Security'), true), header.firstChild);
    },
  },
  {
    name: 'reference-uri-emptied',
    what: 'a Reference URI set to "" (the whole document) so that it digests something else than the element read',
    expect: () => sec('TRAMITE_ERR_SIG_WRAPPING'),
    change: (doc) => {
      first(doc, NS.ds, 'SignedInfo').getElementsByTagNameNS(NS.ds, 'Reference')[1]!.setAttribute('URI', '');
    },
  },
  {
    name: 'untrusted-signer',
    what: 'signed by a "ComuneA" certificate of a CA nobody in the federation trusts',
    expect: () => sec('TRAMITE_ERR_CERT_UNTRUSTED'),
    rogue: true,
  },
  {
    name: 'stale-timestamp',
    what: 'a genuine envelope replayed an hour after it was signed (wsu:Created too old, Expires past)',
    expect: () => ({ outcome: 'refused', error: 'SecurityError', code: 'EGOV_IT_202', reason: 'TRAMITE_ERR_TIMESTAMP' }),
    signedSecondsEarlier: 3600,
  },
];

const PROFILES: readonly EnvelopeProfile[] = ['egov', 'modi'];
const BODY =
  '<p:Pratica xmlns:p="urn:tramite:test:pratica" numero="42"><p:Richiedente>Mario Rossi</p:Richiedente><p:Oggetto>Cambio di residenza</p:Oggetto></p:Pratica>';

/** Writes the fixture PKI (if absent), every attack envelope and attacks.json under dir. */
export async function writeAttackFixtures(dir: string): Promise<ManifestEntry[]> {
  const pki = fixturePki(join(dir, 'pki'));
  const manifest: ManifestEntry[] = [];
  for (const profile of PROFILES) {
    mkdirSync(join(dir, profile), { recursive: true });
    const ctx: AttackContext = {
      otherSigned: parse(await signed(profile, pki.comuneA, new Date(SIGNED_AT.getTime() + 1000), 2)),
      regioneCertBase64: pemBody(pki.regioneCertPem),
    };
    for (const attack of ATTACKS) {
      const at = new Date(SIGNED_AT.getTime() - (attack.signedSecondsEarlier ?? 0) * 1000);
      let xml = await signed(profile, attack.rogue ? pki.rogue : pki.comuneA, at, 1);
      if (attack.change) {
        const doc = parse(xml);
        attack.change(doc, profile, ctx);
        xml = new XMLSerializer().serializeToString(doc);
      }
      const file = `${profile}/${attack.name}.xml`;
      writeFileSync(join(dir, file), xml);
      manifest.push({ file, profile, what: attack.what, expect: attack.expect(profile) });
    }
  }
  writeFileSync(join(dir, 'attacks.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

interface FixturePki {
  readonly comuneA: Signer;
  readonly rogue: Signer;
  readonly regioneCertPem: string;
}

/** The federation CA (ca-cert.pem, trusted by the test), its ComuneA and Regione, and a rogue CA's ComuneA. */
function fixturePki(dir: string): FixturePki {
  if (!existsSync(join(dir, 'ca-cert.pem'))) {
    mkdirSync(dir, { recursive: true });
    const work = mkdtempSync(join(tmpdir(), 'tramite-attack-pki-'));
    try {
      const notBefore = new Date('2026-01-01T00:00:00Z');
      createDevPki({ dir: join(work, 'fed'), parties: ['SPC/ComuneA', 'SPC/Regione'], now: notBefore, validityDays: 7300 });
      createDevPki({
        dir: join(work, 'rogue'),
        parties: ['SPC/ComuneA'],
        now: notBefore,
        validityDays: 7300,
        caSubject: { CN: 'Rogue CA', O: 'Rogue', C: 'IT' },
      });
      const copy = (from: string, to: string) => writeFileSync(join(dir, to), readFileSync(from));
      copy(devCaFiles(join(work, 'fed')).certFile, 'ca-cert.pem');
      copy(devPartyFiles(join(work, 'fed'), { nome: 'ComuneA' }).certFile, 'comune-a-cert.pem');
      copy(devPartyFiles(join(work, 'fed'), { nome: 'ComuneA' }).keyFile, 'comune-a-key.pem');
      copy(devPartyFiles(join(work, 'fed'), { nome: 'Regione' }).certFile, 'regione-cert.pem');
      copy(devPartyFiles(join(work, 'rogue'), { nome: 'ComuneA' }).certFile, 'rogue-comune-a-cert.pem');
      copy(devPartyFiles(join(work, 'rogue'), { nome: 'ComuneA' }).keyFile, 'rogue-comune-a-key.pem');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const identity = (cert: string, key: string): Signer => {
    const certPem = readFileSync(join(dir, cert), 'utf8');
    return memorySigner({
      certPem,
      certificate: new X509Certificate(certPem),
      privateKey: createPrivateKey(readFileSync(join(dir, key), 'utf8')),
    });
  };
  return {
    comuneA: identity('comune-a-cert.pem', 'comune-a-key.pem'),
    rogue: identity('rogue-comune-a-cert.pem', 'rogue-comune-a-key.pem'),
    regioneCertPem: readFileSync(join(dir, 'regione-cert.pem'), 'utf8'),
  };
}

function signed(profile: EnvelopeProfile, signer: Signer, at: Date, sequence: number): Promise<string> {
  const stamp = { now: at, ttlSeconds: 300 };
  if (profile === 'modi') {
    const addressing = {
      to: 'SPC/Regione',
      from: 'SPC/ComuneA',
      action: 'urn:tramite:service:SPC:Anagrafe:CambioResidenza',
      messageId: `urn:uuid:3f1b7a52-93a4-4c55-9b55-00000000000${sequence}`,
      replyTo: 'http://www.w3.org/2005/08/addressing/anonymous',
    };
    return sealEnvelope(buildModiEnvelope(addressing, BODY), 'modi', signer, { ...stamp, addressing });
  }
  const registered = { value: formatXsdDateTime(at), tempo: 'EGOV_IT_SPC' as const };
  const header = {
    mittente: [{ tipo: 'SPC', nome: 'ComuneA' }] as const,
    destinatario: { tipo: 'SPC', nome: 'Regione' },
    profiloCollaborazione: { profile: 'oneway' as const },
    servizio: { tipo: 'SPC', nome: 'Anagrafe' },
    azione: 'CambioResidenza',
    messaggio: { identificatore: formatMessageId('ComuneA', 'ComuneASPCoopIT', sequence, at), oraRegistrazione: registered },
    profiloTrasmissione: { inoltro: 'EGOV_IT_ALPIUUNAVOLTA' as const, confermaRicezione: true },
    riscontri: [],
    trasmissioni: [],
    eccezioni: [],
  };
  return sealEnvelope(buildEgovEnvelope(header, BODY), 'egov', signer, stamp);
}

const parse = (xml: string): Document => new DOMParser().parseFromString(xml, 'text/xml');

function first(doc: Document, ns: string, local: string): Element {
  const el = doc.getElementsByTagNameNS(ns, local)[0];
  if (!el) throw new TypeError(`attack fixture: the envelope has no {${ns}}${local}`);
  return el;
}

function wrapperHeader(doc: Document): Element {
  const w = doc.createElementNS(EVIL, 'w:Wrapper');
  first(doc, NS.soap11, 'Header').appendChild(w);
  return w;
}

function forgedBody(doc: Document): Element {
  const body = doc.createElementNS(NS.soap11, 'SOAP_ENV:Body');
  const pratica = doc.createElementNS('urn:tramite:test:pratica', 'p:Pratica');
  pratica.setAttribute('numero', '666');
  const who = doc.createElementNS('urn:tramite:test:pratica', 'p:Richiedente');
  who.textContent = 'Mallory';
  pratica.appendChild(who);
  body.appendChild(pratica);
  return body;
}

const pemBody = (pem: string): string => pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  let root = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(root, 'package.json'))) root = dirname(root);
  const written = await writeAttackFixtures(join(root, 'test', 'fixtures', 'attacks'));
  process.stdout.write(`wrote ${written.length} attack fixtures and attacks.json under test/fixtures/attacks\n`);
}
