import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the API received, as its back office saw it (after the provider's node verified it). */
export interface RestApiRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * A Regione's REST API behind its node (the back office an erogazione forwards to): an anagrafe of
 * residents. `GET /residenti/{cf}` answers the resident as JSON (404 problem+json when unknown),
 * `POST /residenti/{cf}/certificati` issues a certificate (201), `DELETE /residenti/{cf}/sessione`
 * answers 204 with no body. It records every request, so tests and the demo can show what crossed.
 */
export class DemoRestApi {
  readonly received: RestApiRequest[] = [];
  private server: Server | undefined;
  private port = 0;
  private issued = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        this.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        const path = (req.url ?? '').split('?')[0]!.replace(/^\/anagrafe(?=\/)/, '');
        const resident = /^\/residenti\/([A-Z0-9]{16})$/.exec(path);
        const certificate = /^\/residenti\/([A-Z0-9]{16})\/certificati$/.exec(path);
        const session = /^\/residenti\/([A-Z0-9]{16})\/sessione$/.exec(path);
        const json = (status: number, value: unknown, type = 'application/json') =>
          res.writeHead(status, { 'content-type': type }).end(JSON.stringify(value));
        if (req.method === 'GET' && resident) {
          if (resident[1]!.startsWith('X'))
            return json(
              404,
              { type: 'about:blank', title: 'Not Found', status: 404, detail: `no resident ${resident[1]}` },
              'application/problem+json',
            );
          return json(200, { codiceFiscale: resident[1], cognome: 'ROSSI', nome: 'MARIO', comuneResidenza: 'G141' });
        }
        if (req.method === 'POST' && certificate) {
          let request: unknown;
          try {
            request = JSON.parse(body.toString('utf8'));
          } catch {
            return json(
              400,
              { type: 'about:blank', title: 'Bad Request', status: 400, detail: 'the body is not JSON' },
              'application/problem+json',
            );
          }
          this.issued += 1;
          return json(201, { id: `CERT-${this.issued}`, codiceFiscale: certificate[1], richiesta: request });
        }
        if (req.method === 'DELETE' && session) return res.writeHead(204).end();
        return json(
          404,
          { type: 'about:blank', title: 'Not Found', status: 404, detail: `no route ${req.method} ${path}` },
          'application/problem+json',
        );
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  /** The API's base URL (what a REST service's api.upstream.url names). */
  get url(): string {
    return `http://127.0.0.1:${this.port}/anagrafe`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
