import { createHash } from 'node:crypto';
import { ProtocolloError } from '../../src/core/errors.js';
import type { Documento, Impronta, Segnatura } from './segnatura/segnatura-model.js';
import type { ProtocolloFile } from './transport/protocollo-files.js';

/** The digest algorithms an Impronta may name (the guideline: SHA-256 and up). */
const ALGORITHMS: Readonly<Record<string, string>> = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

export function improntaOf(content: Buffer, algoritmo: 'SHA-256' | 'SHA-384' | 'SHA-512' = 'SHA-256'): Impronta {
  return { algoritmo, valore: createHash(ALGORITHMS[algoritmo]!).update(content).digest('base64') };
}

/**
 * What to do with a document a 2013 or 2001 Segnatura lists without an Impronta (those forms made it
 * optional; the 2021 reader never yields one): `accept` it unchecked — the Segnatura is registered and
 * flagged, the document's name listed as unchecked — or `refuse` the Segnatura (002_AnomaliaImpronta).
 */
export type WithoutImprontaPolicy = 'accept' | 'refuse';

/**
 * Every document the Segnatura lists is among the received files and has the declared digest. A
 * missing file is 003; a different digest (or an algorithm below SHA-256) is 002; a document without
 * Impronta is 002 under the `refuse` policy and, under `accept`, returned among the unchecked ones.
 */
export function checkImpronte(
  segnatura: Segnatura,
  files: readonly ProtocolloFile[],
  withoutImpronta: WithoutImprontaPolicy,
): { unchecked: string[] } {
  const unchecked: string[] = [];
  for (const doc of [segnatura.documentoPrimario, ...segnatura.allegati]) {
    if (checkOne(doc, files, withoutImpronta) === 'unchecked') unchecked.push(doc.nomeFile);
  }
  return { unchecked };
}

function checkOne(doc: Documento, files: readonly ProtocolloFile[], withoutImpronta: WithoutImprontaPolicy): 'checked' | 'unchecked' {
  const file = files.find((f) => f.nomeFile === doc.nomeFile);
  if (!file)
    throw new ProtocolloError(
      '003_DocumentoAllegatiNonLeggibili',
      `document ${doc.nomeFile} is listed in the Segnatura but was not received`,
      { where: doc.nomeFile },
    );
  const impronta = doc.impronta;
  if (!impronta) {
    if (withoutImpronta === 'accept') return 'unchecked';
    throw new ProtocolloError(
      '002_AnomaliaImpronta',
      `${doc.nomeFile}: the Segnatura gives no Impronta, so the document cannot be checked (this AOO refuses such documents)`,
      { where: doc.nomeFile },
    );
  }
  const hash = ALGORITHMS[impronta.algoritmo];
  if (!hash)
    throw new ProtocolloError(
      '002_AnomaliaImpronta',
      `${doc.nomeFile}: Impronta algorithm ${impronta.algoritmo} is not accepted (SHA-256, SHA-384, SHA-512)`,
      { where: doc.nomeFile },
    );
  const actual = createHash(hash).update(file.content).digest();
  const declared = Buffer.from(impronta.valore, 'base64');
  if (declared.length !== actual.length || !actual.equals(declared)) {
    throw new ProtocolloError(
      '002_AnomaliaImpronta',
      `${doc.nomeFile}: its ${impronta.algoritmo} digest differs from the Impronta in the Segnatura`,
      { where: doc.nomeFile },
    );
  }
  return 'checked';
}
