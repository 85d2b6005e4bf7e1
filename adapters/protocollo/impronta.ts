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
 * Every document the Segnatura lists is among the received files and has the declared digest. A
 * missing file is 003; a different digest (or an algorithm below SHA-256) is 002.
 */
export function checkImpronte(segnatura: Segnatura, files: readonly ProtocolloFile[]): void {
  for (const doc of [segnatura.documentoPrimario, ...segnatura.allegati]) checkOne(doc, files);
}

function checkOne(doc: Documento, files: readonly ProtocolloFile[]): void {
  const file = files.find((f) => f.nomeFile === doc.nomeFile);
  if (!file) throw new ProtocolloError('003_DocumentoAllegatiNonLeggibili', `document ${doc.nomeFile} is listed in the Segnatura but was not received`, { where: doc.nomeFile });
  const hash = ALGORITHMS[doc.impronta.algoritmo];
  if (!hash) throw new ProtocolloError('002_AnomaliaImpronta', `${doc.nomeFile}: Impronta algorithm ${doc.impronta.algoritmo} is not accepted (SHA-256, SHA-384, SHA-512)`, { where: doc.nomeFile });
  const actual = createHash(hash).update(file.content).digest();
  const declared = Buffer.from(doc.impronta.valore, 'base64');
  if (declared.length !== actual.length || !actual.equals(declared)) {
    throw new ProtocolloError('002_AnomaliaImpronta', `${doc.nomeFile}: its ${doc.impronta.algoritmo} digest differs from the Impronta in the Segnatura`, { where: doc.nomeFile });
  }
}
