import { Ajv } from 'ajv';
import { AdapterHttpServer, type AdapterLogger, type HttpCall, type HttpReply } from '../sdk/index.js';
import { annullamentoRequestSchema, inoltroRequestSchema, type AnnullamentoRequest, type InoltroRequest } from './protocollo-options.js';
import type { ProtocolloAoo } from './protocollo-aoo.js';

const MAX_BODY = 20 * 1024 * 1024;
const ONE_REGISTRATION = /^\/protocollo\/registrazioni\/(\d{4})\/(\d{7,})(\/documenti)?$/;

/**
 * The AOO's back-office API (JSON over HTTP, loopback by default):
 * POST /protocollo/inoltri — register, seal and send a document (202 with its Identificatore);
 * POST /protocollo/annullamenti — cancel a registration; GET /protocollo/registrazioni[/{anno}/{numero}];
 * GET /protocollo/registrazioni/{anno}/{numero}/documenti — a received document's archived files.
 * Bodies are validated at this edge into typed values; refusals carry a stable code.
 */
export function protocolloHttpApi(aoo: ProtocolloAoo, log: AdapterLogger, tokenHashes: readonly string[] = []): AdapterHttpServer {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true });
  const validateInoltro = ajv.compile<InoltroRequest>(inoltroRequestSchema);
  const validateAnnullamento = ajv.compile<AnnullamentoRequest>(annullamentoRequestSchema);
  const routes = async (call: HttpCall): Promise<HttpReply> => {
    const path = call.url.pathname;
    if (call.method === 'POST' && path === '/protocollo/inoltri') {
      const { registrazione, messageId } = await aoo.inoltra(await call.json(validateInoltro));
      return { status: 202, body: { identificatore: registrazione.identificatore, stato: registrazione.state, messageId } };
    }
    if (call.method === 'POST' && path === '/protocollo/annullamenti')
      return { status: 200, body: await aoo.annulla(await call.json(validateAnnullamento)) };
    if (call.method === 'GET' && path === '/protocollo/registrazioni') {
      return {
        status: 200,
        body: { registrazioni: await aoo.register.list(Math.min(Number(call.url.searchParams.get('limit') ?? 100) || 100, 1000)) },
      };
    }
    const one = ONE_REGISTRATION.exec(path);
    if (call.method === 'GET' && one) {
      const reg = await aoo.register.byNumber(one[1]!, one[2]!);
      if (reg && one[3]) {
        const documenti = (await aoo.register.documents(one[1]!, one[2]!)).map((f) => ({
          nomeFile: f.nomeFile,
          mimeType: f.mimeType,
          contenuto: f.content.toString('base64'),
        }));
        return { status: 200, body: { documenti } };
      }
      return reg
        ? { status: 200, body: reg }
        : {
            status: 404,
            body: { error: { code: '007_ErroreIdentificatoreNonTrovato', message: `no registration ${one[2]} of ${one[1]}` } },
          };
    }
    return { status: 404, body: { error: { code: 'TRAMITE_ERR_NOT_FOUND', message: `${call.method} ${path} is not part of this API` } } };
  };
  return new AdapterHttpServer(routes, { name: 'protocollo', log, tokenHashes, maxBodyBytes: MAX_BODY });
}
