/**
 * The development echo back office: a stand-in for a party's back office, so that a fresh node
 * (`tramite init`, `npm start`) answers the first message a newcomer sends. A sincrono request is
 * answered with the request itself, wrapped in `<tramite-dev:Eco>` (namespace urn:tramite:dev-echo) so
 * that nobody mistakes it for a real answer; any other message is taken and only counted.
 *
 * It fakes answers, so it is `developmentOnly`: the node refuses to start with it unless its
 * configuration says it is a development node (`node.development: true`, TRAMITE_ERR_DEVELOPMENT_ONLY).
 */
import {
  AdapterError,
  defineAdapter,
  escapeAttribute,
  type AdapterContext,
  type AdapterDefinition,
  type AdapterHealth,
  type AdapterInstance,
  type BusMessage,
  type EgressOutcome,
} from '../sdk/index.js';

/** The namespace of the echo wrapper: what tells a development answer from a real one. */
export const DEV_ECHO_NS = 'urn:tramite:dev-echo';

export type DevEchoOptions = Record<string, never>;

export const devEchoOptionsSchema = { type: 'object', additionalProperties: false, properties: {} } as const;

export function devEchoAdapter(): AdapterDefinition<DevEchoOptions> {
  return defineAdapter<DevEchoOptions>({
    id: 'dev-echo',
    version: '1.0.0',
    busApi: '^1',
    description: 'development echo back office: answers each sincrono request with the request itself, wrapped in tramite-dev:Eco',
    optionsSchema: devEchoOptionsSchema,
    // None by default: the configuration names the services it answers, so what it fakes is in plain sight.
    services: [],
    developmentOnly: true,
    setup: (ctx) => new DevEcho(ctx),
  });
}

export default devEchoAdapter();

export class DevEcho implements AdapterInstance {
  private started = false;
  private echoed = 0;
  private accepted = 0;

  constructor(private readonly ctx: AdapterContext<DevEchoOptions>) {}

  async start(): Promise<void> {
    if (!this.started) this.ctx.log.warn({}, 'dev-echo: development echo back office — answers are the requests, echoed');
    this.started = true;
  }

  async stop(): Promise<void> {
    this.started = false;
  }

  async health(): Promise<AdapterHealth> {
    if (!this.started) return { status: 'down', detail: 'not started' };
    return { status: 'up', detail: `development echo: echoed=${this.echoed} accepted=${this.accepted}` };
  }

  async egress(message: BusMessage, signal: AbortSignal): Promise<EgressOutcome> {
    if (!this.started) throw AdapterError.unavailable('the dev-echo back office is not started');
    if (signal.aborted) throw AdapterError.unavailable(`the node gave up on ${message.id} before it was answered`);
    if (message.profile !== 'sincrono') {
      this.accepted += 1;
      this.ctx.log.info({ id: message.id, from: message.from, service: message.service }, 'dev-echo: message taken');
      return { kind: 'accepted', reference: `dev-echo:${message.id}` };
    }
    this.echoed += 1;
    return { kind: 'reply', payload: echoOf(message) };
  }
}

/** The request, unchanged, inside a wrapper that names the message it echoes. */
export function echoOf(message: BusMessage): string {
  const attributes = [
    ['messaggio', message.id],
    ['mittente', message.from],
    ['servizio', message.service],
    ...(message.action !== undefined ? [['azione', message.action]] : []),
  ]
    .map(([name, value]) => ` ${name}="${escapeAttribute(value!)}"`)
    .join('');
  // The payload is the Body content the node verified: well-formed XML, carried as it came.
  return `<tramite-dev:Eco xmlns:tramite-dev="${DEV_ECHO_NS}"${attributes}>${message.payload}</tramite-dev:Eco>`;
}
