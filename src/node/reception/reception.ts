import type { OpenedEnvelope } from '../../../envelopes/envelope.js';
import { TramiteError } from '../../core/errors.js';
import { inboundKey } from '../../core/message-record.js';
import { AsyncCorrelation, type Correlation } from '../correlation/async-correlation.js';
import { inboundKeyText } from '../dispatch/dispatch-item.js';
import { authorise, checkExpiry, type AcceptedRequest } from './authorise.js';
import { answerDuplicate } from './deduplicate.js';
import { logReceived, type Received } from './log-received.js';
import type { InboundReply, ReceptionDeps } from './reception-deps.js';
import { busy, refuse } from './refusal.js';
import { replyTo } from './reply.js';
import { verifyEnvelope } from './verify-envelope.js';
import type { TransportIdentity } from './transport-identity.js';
import type { Registry } from '../registry/registry.js';

export type { InboundReply, ReceptionDeps } from './reception-deps.js';

/**
 * The receiving side of a node, as its stages (one file each, in this folder):
 * guard/parse → verify (signature, certificate, Timestamp) → authorise (route to a hosted party,
 * known sender bound to the signer, service, action, profile) → duplicate filter → expiry →
 * correlate → log → signed reply (riscontro / answer; a sincrono request's back office called inline)
 * → enqueue the dispatch to the back office (src/node/dispatch).
 * One error handler turns any refusal into the protocol's fault.
 */
export class Reception {
  private readonly correlation: AsyncCorrelation;
  /**
   * Messages (sender and id) this process is receiving right now, with how many copies are in hand:
   * marked before the message is logged, so that no copy ever finds it logged, unanswered and not in
   * flight — which it would take for a receipt interrupted by a crash and sign again (signing awaits).
   */
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly deps: ReceptionDeps) {
    this.correlation = new AsyncCorrelation(deps.store, deps.registry);
  }

  /** `transport`: the peer the connection's TLS client certificate proved, when the listener authenticates clients. */
  async process(bytes: Uint8Array, transport?: TransportIdentity): Promise<InboundReply> {
    // One registry version for the whole reception (verification to reply), whatever a reload swaps in meanwhile.
    const registry = this.deps.registry.current();
    const deps: ReceptionDeps = { ...this.deps, registry };
    const claimed: { id?: string } = {};
    let opened: OpenedEnvelope | undefined;
    let accepted: AcceptedRequest | undefined;
    try {
      opened = await verifyEnvelope(deps, bytes, claimed);
      accepted = authorise(registry, opened, transport);
      const duplicate = await answerDuplicate(deps, accepted, this.inFlight);
      if (duplicate) return duplicate;
      checkExpiry(accepted, this.deps.clock.now());
      const inFlight = inboundKeyText(inboundKey(accepted.id, accepted.from));
      this.inFlight.set(inFlight, (this.inFlight.get(inFlight) ?? 0) + 1);
      try {
        const correlation = await this.correlate(accepted, registry);
        const logged = await this.log(deps, accepted);
        if ('status' in logged) return logged; // a copy that raced past the duplicate filter
        return await replyTo(deps, accepted, correlation, logged.payload);
      } finally {
        const left = this.inFlight.get(inFlight)! - 1;
        if (left === 0) this.inFlight.delete(inFlight);
        else this.inFlight.set(inFlight, left);
      }
    } catch (err) {
      if (err instanceof TramiteError && err.code === 'TRAMITE_ERR_NODE_BUSY') return busy(deps, err);
      return refuse(deps, err, { claimedId: claimed.id, opened, accepted });
    }
  }

  /** What the message is in its conversation: plain, the answer to a request sent from here, a richiesta stato. */
  private correlate(req: AcceptedRequest, registry: Registry): Promise<Correlation> {
    return this.correlation.inbound(
      {
        id: req.id,
        from: req.from,
        to: req.to.code,
        service: req.service,
        ...(req.refId !== undefined ? { refId: req.refId } : {}),
        ...(req.conversationId !== undefined ? { conversationId: req.conversationId } : {}),
      },
      registry,
    );
  }

  private async log(deps: ReceptionDeps, req: AcceptedRequest): Promise<Received | InboundReply> {
    try {
      return await logReceived(deps, req);
    } catch (err) {
      // Two copies raced past the duplicate check: the one logged first wins, this one is a duplicate.
      const duplicate = await answerDuplicate(deps, req, this.inFlight);
      if (duplicate) return duplicate;
      throw err;
    }
  }
}
