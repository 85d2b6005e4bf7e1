import { ProtocolloError } from '../../src/core/errors.js';
import type { TrustStore } from '../sdk/index.js';
import type { ProtocolloMessage } from './segnatura/segnatura-model.js';
import { readProtocolloMessage } from './segnatura/protocollo-messages.js';
import { validateProtocolloMessageSchema, validateSegnaturaSchema } from './segnatura/segnatura-schema.js';
import { verifyXades } from '../sdk/index.js';

export type ProtocolloValidation =
  | {
      readonly valid: true;
      readonly kind: ProtocolloMessage['kind'];
      readonly form: string;
      readonly model: unknown;
      readonly signer?: string;
      readonly notes: readonly string[];
    }
  | { readonly valid: false; readonly code: string; readonly reason: string };

/**
 * What `tramite protocollo validate` checks of one document: it reads (any form, any message of the
 * vocabulary), it matches the official XSD (2021, 2013), and — given a trust store — a 2021 Segnatura's
 * XAdES seal verifies. The first failure is reported with its anomaly code.
 */
export async function validateProtocolloDocument(
  bytes: Buffer,
  opts: { trust?: TrustStore; at?: Date } = {},
): Promise<ProtocolloValidation> {
  try {
    const read = readProtocolloMessage(bytes);
    const { doc: _doc, root: _root, kind, ...rest } = read;
    const model = Object.values(rest)[0] as { form: string };
    const notes: string[] = [];
    if (model.form === '2001')
      notes.push('the 2001 form has no XML Schema (only a DTD, which the bus never reads): checked by the reader only');
    else {
      // The bytes, not a UTF-8 reading of them: an ISO-8859-1 document is decoded by its own declaration.
      const schema = kind === 'segnatura' ? await validateSegnaturaSchema(bytes) : await validateProtocolloMessageSchema(bytes);
      if (!schema.valid)
        return { valid: false, code: '000_Irricevibile', reason: `not valid against the official schema: ${schema.errors.join('; ')}` };
    }
    if (kind === 'segnatura') {
      const { segnatura } = read as Extract<typeof read, { kind: 'segnatura' }>;
      const unchecked = [segnatura.documentoPrimario, ...segnatura.allegati].filter((d) => d.unchecked).map((d) => d.nomeFile);
      if (unchecked.length > 0)
        notes.push(
          `no Impronta for ${unchecked.join(', ')}: these documents cannot be checked against the Segnatura (the ${model.form} form allows it)`,
        );
    }
    let signer: string | undefined;
    if (kind === 'segnatura' && model.form === '2021') {
      if (opts.trust)
        signer = verifyXades(bytes, { trust: opts.trust, ...(opts.at ? { at: opts.at } : {}) }).signer.subject.replace(/\n/g, ', ');
      else notes.push('seal not verified: pass --trust CA.pem');
    }
    return { valid: true, kind, form: model.form, model, ...(signer ? { signer } : {}), notes };
  } catch (err) {
    if (err instanceof ProtocolloError) return { valid: false, code: err.code, reason: err.message };
    throw err;
  }
}
