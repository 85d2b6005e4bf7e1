/** A 2021 Documento (DocumentoPrimario, Allegato): file, Impronta, where it lives, how it is signed. */
import type { Apposizione, CollocazioneTelematica, Documento, Impronta } from './segnatura-model.js';
import { mapOptional, type ElementReader } from './segnatura-reader-element.js';

export function readDocumento(r: ElementReader): Documento {
  return {
    nomeFile: r.requiredAttr('nomeFile'),
    mimeType: r.requiredAttr('mimeType'),
    descrizione: r.optionalText('Descrizione'),
    impronta: readImpronta(r.one('Impronta'), 'SHA-256'),
    collocazioneTelematica: mapOptional(r.optional('CollocazioneTelematica'), readCollocazioneTelematica),
    firmatoDigitalmente: mapOptional(r.optional('firmatoDigitalmente'), readApposizione),
    sigillatoElettronicamente: mapOptional(r.optional('sigillatoElettronicamente'), readApposizione),
    marcaturaTemporale: mapOptional(r.optional('marcaturaTemporale'), readApposizione),
  };
}

/** xs:base64Binary may be wrapped over lines; the model keeps the bare value. */
export function readImpronta(r: ElementReader, defaultAlgorithm: string): Impronta {
  return { algoritmo: (r.attr('algoritmo') ?? defaultAlgorithm).trim(), valore: r.text().replace(/\s+/g, '') };
}

function readCollocazioneTelematica(r: ElementReader): CollocazioneTelematica {
  return {
    hostValue: r.requiredText('HostValue'),
    pathValue: r.requiredText('PathValue'),
    timeToLive: r.integerAttr('timeToLive'),
    userId: r.attr('userId'),
    password: r.attr('password'),
  };
}

function readApposizione(r: ElementReader): Apposizione {
  if (r.choice(['UnDetached', 'Detached'] as const) === 'UnDetached') {
    r.one('UnDetached'); // fixed="true": nothing to read, but it must not be repeated
    return { kind: 'UnDetached' };
  }
  return {
    kind: 'Detached',
    detached: r
      .many('Detached')
      .map((d) => ({ nomeFile: d.requiredAttr('nomeFile'), mimeType: d.attr('mimeType'), order: requiredInteger(d, 'order') })),
  };
}

function requiredInteger(r: ElementReader, name: string): number {
  const value = r.integerAttr(name);
  if (value === undefined) throw r.refuse(`${r.path}/@${name} is missing (required)`, `${r.path}/@${name}`);
  return value;
}
