import { constants } from 'node:fs';
import { access, mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import {
  AdapterError,
  BackgroundWorker,
  defineAdapter,
  type AdapterContext,
  type AdapterInstance,
  type BusMessage,
  type OutgoingMessage,
  type WorkerPass,
} from '../../sdk/index.js';

/**
 * The example adapter of docs/writing-an-adapter.md: a back office that exchanges files through two
 * folders, as many small Comuni's programs do.
 * - egress: each inbound message becomes `<outbox>/<id>.xml` (the payload) and `<id>.json` (who, what),
 *   written under a temporary name and renamed, so a reader never sees half a file;
 * - ingress: each `<inbox>/*.json` request `{to, service, action?, payload}` is sent from the party,
 *   then moved to `<inbox>/sent/` beside a `.id` file naming the message; a malformed one goes to
 *   `<inbox>/rejected/` with the reason. A request is moved to `<inbox>/.sending/` before it is sent
 *   and sent again at start if it is still there: at least once, never lost.
 */
export interface CartellaOptions {
  readonly inbox: string;
  readonly outbox: string;
  readonly pollMs: number;
}

export const cartellaOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['inbox', 'outbox'],
  properties: {
    inbox: {
      type: 'string',
      minLength: 1,
      description: 'Folder the back office drops requests into (relative paths: to the adapter data folder).',
    },
    outbox: { type: 'string', minLength: 1, description: 'Folder the adapter writes inbound messages into.' },
    pollMs: { type: 'integer', minimum: 50, maximum: 3_600_000, default: 1000, description: 'How often the inbox is scanned, ms.' },
  },
} as const;

export default defineAdapter<CartellaOptions>({
  id: 'cartella',
  version: '1.0.0',
  busApi: '^1',
  description: 'Exchanges messages with a back office through an inbox and an outbox folder',
  optionsSchema: cartellaOptionsSchema,
  setup: (ctx) => new CartellaAdapter(ctx),
});

class CartellaAdapter implements AdapterInstance {
  private readonly inbox: string;
  private readonly outbox: string;
  /** One scan at a time, every pollMs: a slow scan is never overlapped by the next. */
  private readonly scanner: BackgroundWorker;

  constructor(private readonly ctx: AdapterContext<CartellaOptions>) {
    this.inbox = resolve(ctx.dataDir, ctx.options.inbox);
    this.outbox = resolve(ctx.dataDir, ctx.options.outbox);
    this.scanner = new BackgroundWorker({
      name: 'inbox scan',
      log: ctx.log,
      intervalMs: ctx.options.pollMs,
      pass: (pass) => this.scan(pass),
    });
  }

  async start(): Promise<void> {
    if (this.scanner.running) return;
    for (const dir of [this.inbox, this.outbox, join(this.inbox, 'sent'), join(this.inbox, 'rejected'), join(this.inbox, '.sending')])
      await mkdir(dir, { recursive: true });
    this.scanner.start();
  }

  async stop(): Promise<void> {
    // The scan in hand finishes its file: a request is never left half moved.
    await this.scanner.stop(Number.POSITIVE_INFINITY);
  }

  async health() {
    try {
      await access(this.inbox, constants.R_OK | constants.W_OK);
      await access(this.outbox, constants.W_OK);
      return { status: 'up' as const };
    } catch (err) {
      return { status: 'down' as const, detail: (err as Error).message };
    }
  }

  async egress(message: BusMessage): Promise<{ kind: 'accepted'; reference: string }> {
    if (message.profile === 'sincrono')
      throw AdapterError.refused('TRAMITE_ERR_ADAPTER_REFUSED', 'a folder cannot answer a sincrono request');
    const name = fileNameFor(message.id);
    try {
      // Metadata last: a back office that waits for the .json finds the payload already there.
      await writeAtomically(join(this.outbox, `${name}.xml`), message.payload);
      const { payload: _payload, ...facts } = message;
      await writeAtomically(join(this.outbox, `${name}.json`), `${JSON.stringify(facts, null, 2)}\n`);
    } catch (cause) {
      throw AdapterError.unavailable(`outbox ${this.outbox} cannot be written: ${(cause as Error).message}`, cause);
    }
    return { kind: 'accepted', reference: `${name}.xml` };
  }

  private async scan(pass: WorkerPass): Promise<void> {
    const sending = join(this.inbox, '.sending');
    // Left over by a crash between the move and the send: sent (again) first.
    for (const name of (await readdir(sending)).filter((n) => n.endsWith('.json'))) await this.send(name);
    for (const name of (await readdir(this.inbox)).filter((n) => n.endsWith('.json')).sort()) {
      if (pass.stopping()) return;
      await rename(join(this.inbox, name), join(sending, name));
      await this.send(name);
    }
  }

  private async send(name: string): Promise<void> {
    const file = join(this.inbox, '.sending', name);
    let request: OutgoingMessage;
    try {
      request = parseRequest(await readFile(file, 'utf8'));
    } catch (err) {
      await rename(file, join(this.inbox, 'rejected', name));
      await writeFile(join(this.inbox, 'rejected', `${basename(name, '.json')}.error.txt`), `${(err as Error).message}\n`);
      this.ctx.log.warn({ file: name, err: (err as Error).message }, 'request refused');
      return;
    }
    try {
      const sent = await this.ctx.bus.send(request);
      await writeFile(join(this.inbox, 'sent', `${basename(name, '.json')}.id`), `${sent.id}\n`);
      await rename(file, join(this.inbox, 'sent', name));
      this.ctx.log.info({ file: name, id: sent.id }, 'request sent');
    } catch (err) {
      // The bus refused it (unknown service, not allowed…): that will not change by itself.
      await rename(file, join(this.inbox, 'rejected', name));
      await writeFile(join(this.inbox, 'rejected', `${basename(name, '.json')}.error.txt`), `${(err as Error).message}\n`);
      this.ctx.log.warn({ file: name, err: (err as Error).message }, 'the bus refused the request');
    }
  }
}

/** A request file, validated at the edge into a typed value. */
function parseRequest(text: string): OutgoingMessage {
  const raw = JSON.parse(text) as Record<string, unknown>;
  const field = (k: string, required: boolean): string | undefined => {
    const v = raw[k];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || (required && v.length === 0))
      throw AdapterError.refused('TRAMITE_ERR_BAD_REQUEST', `"${k}" must be a${required ? ' non-empty' : ''} string`);
    return v;
  };
  const unknown = Object.keys(raw).filter((k) => !['to', 'service', 'action', 'payload', 'refId'].includes(k));
  if (unknown.length > 0)
    throw AdapterError.refused(
      'TRAMITE_ERR_BAD_REQUEST',
      `unknown field(s): ${unknown.join(', ')} (allowed: to, service, action, payload, refId)`,
    );
  const action = field('action', false);
  const refId = field('refId', false);
  return {
    to: field('to', true)!,
    service: field('service', true)!,
    payload: field('payload', false) ?? '',
    ...(action ? { action } : {}),
    ...(refId ? { refId } : {}),
  };
}

async function writeAtomically(file: string, content: string): Promise<void> {
  const temp = `${file}.part`;
  await writeFile(temp, content);
  await rename(temp, file);
}

/**
 * The file name for a message id. Ids contain ':' (e-Gov), which file names on every system should not.
 * Each other UTF-16 unit is escaped — ASCII as `~` + 2 hex digits (':' → `~3A`, '~' → `~7E`), anything
 * else as `~u` + 4 — a code no other escape starts like, so two ids never share a file: replacing them
 * all with '_' made `a:b`, `a/b` and `a_b` the same file, and one message overwrote another.
 */
export function fileNameFor(id: string): string {
  return id.replace(/[^A-Za-z0-9_.-]/g, (ch) => {
    const unit = ch.charCodeAt(0);
    return unit < 0x80 ? `~${hex(unit, 2)}` : `~u${hex(unit, 4)}`;
  });
}

const hex = (n: number, digits: number): string => n.toString(16).toUpperCase().padStart(digits, '0');
