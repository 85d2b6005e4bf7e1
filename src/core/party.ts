/** A party (soggetto) code as the bus writes it: `tipo/nome`, e.g. `SPC/ComuneFrancavillaAlMare`. */
export interface PartyRef {
  readonly tipo: string;
  readonly nome: string;
  readonly indirizzoTelematico?: string;
}

const PARTY_PATTERN = /^([A-Za-z0-9]+)\/([A-Za-z0-9_]+)$/;

export function parsePartyCode(code: string): PartyRef | undefined {
  const m = PARTY_PATTERN.exec(code);
  return m ? { tipo: m[1]!, nome: m[2]! } : undefined;
}

export function partyCode(p: Pick<PartyRef, 'tipo' | 'nome'>): string {
  return `${p.tipo}/${p.nome}`;
}
