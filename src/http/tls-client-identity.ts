import type { X509Certificate } from 'node:crypto';
import { X509Certificate as Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { describeCertificate } from '../core/certificate-description.js';
import { SecurityError } from '../core/errors.js';
import type { TramiteCode } from '../core/error-codes.js';
import type { PeerNode, RegistrySource } from '../node/registry/registry.js';
import type { TransportIdentity } from '../node/reception/transport-identity.js';

/**
 * A further judgement of a TLS client certificate that OpenSSL has already chained to
 * node.listen.tls.clientCaFiles and found within its dates: e.g. its revocation status. `chain` is the
 * chain OpenSSL verified, the client's certificate first and the client CA last. Throws a
 * SecurityError (a `TRAMITE_ERR_TLS_CLIENT_*` or revocation reason) to refuse it.
 */
export type ClientCertificateCheck = (chain: readonly X509Certificate[], peer: PeerNode | undefined) => Promise<void>;

/** OpenSSL's verdicts that mean "outside its validity dates" rather than "not trusted". */
const DATE_ERRORS: ReadonlySet<string> = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/**
 * Who is on the other end of a TLS connection to the envelope endpoint. The one place a client
 * certificate is judged: present → OpenSSL's chain and dates verdict (against clientCaFiles only) →
 * the further checks (revocation plugs in here) → the configured peer it belongs to. The node's own
 * certificate, on a connection from itself (delivery to its own parties), is recognised by its
 * fingerprint: the handshake proved the key, and nobody else holds it.
 */
export class TlsClientIdentifier {
  /** One judgement per connection: every request on a kept-alive connection has the same client. */
  private readonly judged = new WeakMap<TLSSocket, Promise<TransportIdentity>>();
  private readonly self: TransportIdentity;

  constructor(
    private readonly registry: RegistrySource,
    private readonly ownCertificate: X509Certificate,
    private readonly checks: readonly ClientCertificateCheck[] = [],
  ) {
    this.self = { peer: 'this node', parties: new Set(), certificate: describeCertificate(ownCertificate) };
  }

  identify(socket: TLSSocket): Promise<TransportIdentity> {
    let identity = this.judged.get(socket);
    if (!identity) {
      identity = this.judge(socket);
      this.judged.set(socket, identity);
    }
    return identity;
  }

  private async judge(socket: TLSSocket): Promise<TransportIdentity> {
    const client = `the client at ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const cert = socket.getPeerX509Certificate();
    if (!cert)
      throw refusal(
        'TRAMITE_ERR_TLS_CLIENT_CERT_MISSING',
        `${client} presented no TLS client certificate: the envelope endpoint takes envelopes from configured peers only`,
      );
    // The registry as it is when the connection is judged: a reload applies to connections made after it.
    const registry = this.registry.current();
    if (cert.fingerprint256 === this.ownCertificate.fingerprint256)
      return { ...this.self, parties: new Set(registry.config.parties.map((p) => p.code)) };
    const peer = registry.peerForClientCertificate(cert);
    const who = `${peer ? `peer "${peer.name}"` : client} (TLS client certificate ${describeCertificate(cert)})`;
    if (!socket.authorized) {
      const why = String(socket.authorizationError ?? 'not verified');
      throw refusal(
        DATE_ERRORS.has(why) ? 'TRAMITE_ERR_TLS_CLIENT_CERT_EXPIRED' : 'TRAMITE_ERR_TLS_CLIENT_CERT_UNTRUSTED',
        `${who} is refused: ${why} (checked against node.listen.tls.clientCaFiles)`,
      );
    }
    if (this.checks.length > 0) {
      const chain = verifiedChain(socket);
      for (const check of this.checks) await check(chain, peer);
    }
    if (!peer)
      throw refusal(
        'TRAMITE_ERR_TLS_CLIENT_UNKNOWN',
        `${who} is trusted but no peer lists it in tls.clientCertificates — fix: add its fingerprint256, or subject and issuer, to the peer's tls.clientCertificates`,
      );
    return { peer: peer.name, parties: new Set(peer.parties), certificate: describeCertificate(cert) };
  }
}

/** The chain OpenSSL verified for the client, leaf first, up to the client CA (self-issued: its own issuer). */
function verifiedChain(socket: TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  let link: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (link?.raw && !seen.has(link.fingerprint256)) {
    seen.add(link.fingerprint256);
    chain.push(new Certificate(link.raw));
    link = link.issuerCertificate;
  }
  return chain;
}

function refusal(reason: TramiteCode, message: string): SecurityError {
  return new SecurityError(reason, message, { posizione: 'Transport' });
}

/** The revocation check of a TLS client's chain, under the policy of the client CA it chains to. */
export function tlsClientRevocation(revocation: {
  checkChain(chain: readonly X509Certificate[], check: { readonly role: string }): Promise<void>;
}): ClientCertificateCheck {
  return (chain) => revocation.checkChain(chain, { role: 'TLS client certificate' });
}
