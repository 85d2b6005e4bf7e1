/**
 * How the bus names a service in ModI's wsa:Action, since WS-Addressing has no Servizio/Azione:
 * `urn:tramite:service:<tipo>:<servizio>[:<azione>]`. The same facts an e-Gov busta carries in
 * Servizio@tipo, Servizio and Azione.
 */
const PREFIX = 'urn:tramite:service:';

export function formatModiAction(tipo: string, servizio: string, azione?: string): string {
  return `${PREFIX}${tipo}:${servizio}${azione ? `:${azione}` : ''}`;
}

export function parseModiAction(action: string): { tipo: string; servizio: string; azione?: string } | undefined {
  if (!action.startsWith(PREFIX)) return undefined;
  const [tipo, servizio, azione, ...rest] = action.slice(PREFIX.length).split(':');
  if (!tipo || !servizio || rest.length > 0) return undefined;
  return { tipo, servizio, ...(azione ? { azione } : {}) };
}
