/** The 2021 form (segnatura_protocollo.xsd): the model mirrors it, so this is a direct reading. */
import type {
  Amministrazione,
  AmministrazioneEstera,
  Classifica,
  CodiceIPA,
  Contatti,
  Destinatario,
  Fascicolo,
  IndirizzoPostale,
  IndirizzoTelematico,
  LivelloClassifica,
  PersonaFisica,
  PersonaGiuridica,
  Riferimenti,
  Riservato,
  Segnatura,
  Soggetto,
} from './segnatura-model.js';
import { ElementReader, mapOptional, requireSome } from './segnatura-reader-element.js';
import { readDocumento } from './segnatura-reader-documento.js';
import { readIdentificatore } from './segnatura-reader-identificatore.js';

export function readSegnatura2021(root: ElementReader): Segnatura {
  const intestazione = root.one('Intestazione');
  const riferimenti = root.optional('Riferimenti');
  const descrizione = root.one('Descrizione');
  return {
    form: '2021',
    identificatore: readIdentificatore(intestazione.one('Identificatore')),
    primaRegistrazione: mapOptional(intestazione.optional('PrimaRegistrazione'), readIdentificatore),
    oggetto: intestazione.requiredText('Oggetto'),
    classifica: readClassifica(intestazione.one('Classifica')),
    fascicolo: mapOptional(intestazione.optional('Fascicolo'), readFascicolo),
    riservato: mapOptional(intestazione.optional('Riservato'), readRiservato),
    riferimenti: mapOptional(riferimenti, readRiferimenti),
    mittente: readSoggetto(descrizione.one('Mittente')),
    destinatari: requireSome(descrizione, 'Destinatario').map(readDestinatario),
    documentoPrimario: readDocumento(descrizione.one('DocumentoPrimario')),
    allegati: descrizione.many('Allegato').map(readDocumento),
  };
}

function readRiferimenti(r: ElementReader): Riferimenti {
  return {
    identificatore: readIdentificatore(r.one('Identificatore')),
    primaRegistrazione: mapOptional(r.optional('PrimaRegistrazione'), readIdentificatore),
    oggetto: r.requiredText('Oggetto'),
    classifica: readClassifica(r.one('Classifica')),
    fascicolo: mapOptional(r.optional('Fascicolo'), readFascicolo),
  };
}

function readClassifica(r: ElementReader): Classifica {
  const denominazione = r.requiredText('Denominazione');
  if (r.choice(['CodiceFlat', 'CodicePath'] as const) === 'CodiceFlat') {
    return { denominazione, codice: { kind: 'flat', codice: r.requiredText('CodiceFlat') } };
  }
  const livelli: LivelloClassifica[] = [];
  for (let level: ElementReader | undefined = r.one('CodicePath'); level; level = level.optional('SubLivello')) {
    const livello = level.one('Livello');
    livelli.push({ valore: livello.text(), descrizione: livello.attr('descrizione') });
  }
  return { denominazione, codice: { kind: 'path', livelli } };
}

function readFascicolo(r: ElementReader): Fascicolo {
  return { denominazione: r.requiredText('Denominazione'), codiceFascicolo: r.requiredText('CodiceFascicolo') };
}

function readRiservato(r: ElementReader): Riservato {
  return { riservato: r.booleanText(), note: r.attr('note') };
}

const SOGGETTI = ['Amministrazione', 'PersonaGiuridica', 'PersonaFisica', 'AmministrazioneEstera'] as const;

function readSoggetto(r: ElementReader): Soggetto {
  const name = r.choice(SOGGETTI);
  const reader = r.one(name);
  switch (name) {
    case 'Amministrazione':
      return readAmministrazione(reader);
    case 'PersonaGiuridica':
      return readPersonaGiuridica(reader);
    case 'PersonaFisica':
      return readPersonaFisica(reader);
    case 'AmministrazioneEstera':
      return readAmministrazioneEstera(reader);
  }
}

function readDestinatario(r: ElementReader): Destinatario {
  return {
    soggetto: readSoggetto(r),
    confermaRicezione: r.booleanAttr('confermaRicezione', true),
    perConoscenza: r.booleanAttr('perConoscenza', false),
  };
}

function readCodiceIPA(r: ElementReader): CodiceIPA {
  return { codice: r.text(), descrizione: r.attr('descrizione') };
}

function readAmministrazione(r: ElementReader): Amministrazione {
  return {
    tipo: 'Amministrazione',
    denominazioneAmministrazione: r.requiredText('DenominazioneAmministrazione'),
    cfAmministrazione: r.optionalText('CFAmministrazione'),
    codiceIPAAmministrazione: readCodiceIPA(r.one('CodiceIPAAmministrazione')),
    contattiAmministrazione: mapOptional(r.optional('ContattiAmministrazione'), readContatti),
    codiceIPAAOO: mapOptional(r.optional('CodiceIPAAOO'), readCodiceIPA),
    contattiAOO: mapOptional(r.optional('ContattiAOO'), readContatti),
    codiceIPAUO: mapOptional(r.optional('CodiceIPAUO'), readCodiceIPA),
    contattiUO: mapOptional(r.optional('ContattiUO'), readContatti),
    personeFisiche: r.many('PersonaFisica').map(readPersonaFisica),
  };
}

function readPersonaGiuridica(r: ElementReader): PersonaGiuridica {
  return {
    tipo: 'PersonaGiuridica',
    denominazione: r.requiredText('Denominazione'),
    pivaOCF: r.optionalText('PIVAoCF'),
    contattiPersonaGiuridica: mapOptional(r.optional('ContattiPersonaGiuridica'), readContatti),
    personeFisiche: r.many('PersonaFisica').map(readPersonaFisica),
  };
}

function readPersonaFisica(r: ElementReader): PersonaFisica {
  return {
    tipo: 'PersonaFisica',
    nome: r.requiredText('Nome'),
    cognome: r.requiredText('Cognome'),
    titolo: r.optionalText('Titolo'),
    codiceFiscale: r.optionalText('CodiceFiscale'),
    contatti: mapOptional(r.optional('Contatti'), readContatti),
  };
}

function readAmministrazioneEstera(r: ElementReader): AmministrazioneEstera {
  return {
    tipo: 'AmministrazioneEstera',
    denominazioneAmministrazione: r.requiredText('DenominazioneAmministrazione'),
    denominazioneUfficio: r.optionalText('DenominazioneUfficio'),
    contattiAmministrazione: mapOptional(r.optional('ContattiAmministrazione'), readContatti),
  };
}

function readContatti(r: ElementReader): Contatti {
  return {
    indirizziPostali: r.many('IndirizzoPostale').map(readIndirizzoPostale),
    indirizziTelematici: r.many('IndirizzoTelematico').map(readIndirizzoTelematico),
    telefoni: r.many('Telefono').map((t) => t.text()),
  };
}

const TIPI_INDIRIZZO_TELEMATICO = ['smtp', 'url', 'other'] as const;

function readIndirizzoTelematico(r: ElementReader): IndirizzoTelematico {
  const tipo = (r.attr('tipo') ?? 'smtp').trim();
  if (!(TIPI_INDIRIZZO_TELEMATICO as readonly string[]).includes(tipo)) {
    throw r.refuse(`${r.path}/@tipo is "${tipo}"; the schema allows smtp, url, other`, `${r.path}/@tipo`);
  }
  return { indirizzo: r.text(), tipo: tipo as IndirizzoTelematico['tipo'], note: r.attr('note') };
}

function readIndirizzoPostale(r: ElementReader): IndirizzoPostale {
  const toponimo = r.one('Toponimo');
  const comune = r.one('Comune');
  const nazione = r.one('Nazione');
  return {
    toponimo: { dug: toponimo.requiredText('dug'), duf: toponimo.requiredText('duf') },
    civico: r.requiredText('Civico'),
    cap: r.requiredText('CAP'),
    comune: { denominazione: comune.text(), codiceISTAT: comune.requiredAttr('CodiceISTAT') },
    // Both defaults are the schema's: an empty Nazione is Italia, a missing code is ITA.
    nazione: { denominazione: nazione.text() || 'Italia', codice3166: nazione.attr('codice3166') ?? 'ITA' },
  };
}
