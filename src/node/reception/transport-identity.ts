/**
 * Who sent an envelope, as the transport proved it: the peer whose TLS client certificate was verified
 * on the connection, or this node itself (delivering to its own parties). Undefined when the listener
 * does not authenticate clients (plain HTTP, or TLS without requestCert): then only the signature speaks.
 */
export interface TransportIdentity {
  /** The peer's name, or "this node". */
  readonly peer: string;
  /** The parties that peer hosts: the only senders it may carry. */
  readonly parties: ReadonlySet<string>;
  /** The client certificate, described for logs and refusals. */
  readonly certificate: string;
}
