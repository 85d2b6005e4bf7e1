import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BackOfficeDelivery } from '../node/dispatch/back-office-client.js';

/**
 * The back offices of the demo's parties, as one real HTTP server: it records what each party
 * received, and answers the sincrono services the way a registry or protocol system would.
 */
export class DemoBackOffice {
  /**
   * Every hand-over as it arrived, repeats included — with its Idempotency-Key and when it came (ms since
   * the epoch) — so tests see what the node offered. A repeat is answered as the first (a real back office
   * takes each key once).
   */
  readonly received: Array<BackOfficeDelivery & { party: string; idempotencyKey: string | undefined; at: number }> = [];
  /** Events the parties' protocollo adapters POSTed (protocollato, conferma, eccezione, annullamento). */
  readonly protocollo: Array<{
    party: string;
    evento: string;
    anomalia?: string;
    registrazione?: { identificatore: { numeroRegistrazione: string }; state: string };
    controparte?: { numeroRegistrazione: string };
    files?: Array<{ nomeFile: string }>;
  }> = [];
  /** While true, every delivery is refused with HTTP 503 (a back office under maintenance). */
  unavailable = false;
  /** A slow back office: each delivery is answered this long after it is taken, ms. */
  holdMs = 0;
  private server: Server | undefined;
  private port = 0;

  /** Listens on 127.0.0.1, on `port` when given (a back office that comes up later), else any free port. */
  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      const isProtocollo = (req.url ?? '').startsWith('/protocollo/');
      const party = decodeURIComponent((req.url ?? '').replace(/^\/(inbox|protocollo)\//, ''));
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.unavailable) {
          res.writeHead(503).end();
          return;
        }
        let msg: BackOfficeDelivery;
        try {
          msg = JSON.parse(Buffer.concat(chunks).toString('utf8')) as BackOfficeDelivery;
        } catch {
          res.writeHead(400).end();
          return;
        }
        if (isProtocollo) {
          this.protocollo.push({ ...(msg as unknown as { evento: string }), party });
          res.writeHead(204).end();
          return;
        }
        const key = req.headers['idempotency-key'];
        this.received.push({ ...msg, party, idempotencyKey: typeof key === 'string' ? key : undefined, at: Date.now() });
        setTimeout(() => {
          if (msg.profile !== 'sincrono') res.writeHead(204).end();
          else res.writeHead(200, { 'content-type': 'application/xml' }).end(answer(msg));
        }, this.holdMs);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  urlFor(party: string): string {
    return `http://127.0.0.1:${this.port}/inbox/${encodeURIComponent(party)}`;
  }

  receivedBy(party: string, id: string): boolean {
    return this.received.some((m) => m.party === party && m.id === id);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** A registry's answer: echoes the codice fiscale asked about, so the reply is tied to the request. */
function answer(msg: BackOfficeDelivery): string {
  const cf = /<[^>]*codiceFiscale[^>]*>([^<]*)</.exec(msg.payload)?.[1] ?? '';
  return `<ana:Esito xmlns:ana="urn:tramite:demo:anagrafe"><ana:codiceFiscale>${cf}</ana:codiceFiscale><ana:residente>true</ana:residente><ana:servizio>${msg.service}</ana:servizio></ana:Esito>`;
}
