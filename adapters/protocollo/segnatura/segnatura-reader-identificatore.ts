import type { Identificatore } from './segnatura-model.js';
import type { ElementReader } from './segnatura-reader-element.js';

/**
 * Identificatore content: the same five (six) children in every form and every message — except that
 * the 2001 DTD had no CodiceRegistro (one register per AOO then; the 2013 rules added it): absent there,
 * it is read as ''.
 */
export function readIdentificatore(r: ElementReader): Identificatore {
  return {
    codiceAmministrazione: r.requiredText('CodiceAmministrazione'),
    codiceAOO: r.requiredText('CodiceAOO'),
    codiceRegistro: r.syntax.form === '2001' ? (r.optionalText('CodiceRegistro') ?? '') : r.requiredText('CodiceRegistro'),
    numeroRegistrazione: r.requiredText('NumeroRegistrazione'),
    dataRegistrazione: r.requiredText('DataRegistrazione'),
    oraRegistrazione: r.optionalText('OraRegistrazione'),
  };
}
