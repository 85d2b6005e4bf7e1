import {
  AdapterError,
  AdapterHttpServer,
  defineAdapter,
  type AdapterContext,
  type AdapterInstance,
  type BusMessage,
} from '../sdk/index.js';
import { ProtocolloError } from '../../src/core/errors.js';
import { ProtocolloAoo } from './protocollo-aoo.js';
import { protocolloHttpApi } from './protocollo-http-api.js';
import { protocolloOptionsSchema, type ProtocolloOptions } from './protocollo-options.js';

/**
 * The protocollo informatico interoperabile adapter (AgID Linee guida 2021, Allegato 6): each hosted
 * party it serves is an AOO with its own register. Its back office registers and sends documents
 * through the adapter's API; documents from other AOO are checked, registered, handed over and
 * answered with ConfermaRicezione or NotificaEccezione.
 */
export default defineAdapter<ProtocolloOptions>({
  id: 'protocollo',
  version: '1.0.0',
  busApi: '^1',
  description:
    'Protocollo informatico interoperabile: Segnatura 3.0.0 sealed with XAdES, register, ConfermaRicezione / NotificaEccezione / AnnullamentoProtocollazione',
  optionsSchema: protocolloOptionsSchema,
  services: ['ProtocolloInteroperabile', 'MessaggioPEC'],
  setup: (ctx) => new ProtocolloAdapter(ctx),
});

class ProtocolloAdapter implements AdapterInstance {
  private aoo: ProtocolloAoo | undefined;
  private api: AdapterHttpServer | undefined;

  constructor(private readonly ctx: AdapterContext<ProtocolloOptions>) {}

  async start(): Promise<void> {
    if (this.aoo) return;
    const aoo = await ProtocolloAoo.open(this.ctx);
    const listen = this.ctx.options.listen;
    try {
      await aoo.start();
      if (listen) {
        const api = protocolloHttpApi(aoo, this.ctx.log, listen.apiTokens ?? []);
        await api.listen(listen.host, listen.port);
        this.api = api;
        this.ctx.log.info({ url: api.address }, 'protocollo back-office API listening');
      }
    } catch (err) {
      await aoo.close();
      throw err;
    }
    this.aoo = aoo;
  }

  async stop(): Promise<void> {
    await this.api?.close();
    await this.aoo?.close();
    this.api = this.aoo = undefined;
  }

  async health() {
    if (!this.aoo) return { status: 'down' as const, detail: 'not started' };
    // The back-office API first (tools find it there), then the SOAP interfaces, if any.
    const where = [this.api?.address, this.aoo.relay?.endpoints?.destinatario, this.aoo.relay?.endpoints?.mittente].filter(
      (x): x is string => x !== undefined,
    );
    return { status: 'up' as const, ...(where.length > 0 ? { detail: where.join(' ') } : {}) };
  }

  /** Where the back-office API listens, once started (for tests and the demo). */
  get apiAddress(): string | undefined {
    return this.api?.address;
  }

  async egress(message: BusMessage): Promise<{ kind: 'accepted' }> {
    if (!this.aoo) throw AdapterError.unavailable('the protocollo adapter is not started');
    if (message.profile === 'sincrono') throw AdapterError.refused('TRAMITE_ERR_ADAPTER_REFUSED', 'protocollo messages are oneway');
    try {
      await this.aoo.receive(message);
    } catch (err) {
      if (err instanceof AdapterError) throw err;
      if (err instanceof ProtocolloError) throw AdapterError.refused(err.code, err.message, err);
      throw AdapterError.unavailable((err as Error).message, err);
    }
    return { kind: 'accepted' };
  }
}
