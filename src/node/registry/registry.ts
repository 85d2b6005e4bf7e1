import type { X509Certificate } from 'node:crypto';
import type { ConfigFileSigner, NodeConfig } from '../../config/config-types.js';
import { ConfigError } from '../../core/errors.js';
import { tokenMatches } from '../../core/token-hash.js';
import { staffTokenEntries, type StaffMember, type StaffRole, type StaffTokenEntry } from '../../core/staff-member.js';
import {
  certificateNames,
  OID_COMMON_NAME,
  parseDistinguishedName,
  sameName,
  valuesOf,
  type NameAttributes,
} from '../../crypto/certificate-names.js';
import { TrustStore } from '../../crypto/trust-store.js';

export type HostedParty = NodeConfig['parties'][number];
export type PeerNode = NodeConfig['peers'][number];
export type ServiceDef = NodeConfig['services'][number];

/** A configured signer of a party, ready to compare with a certificate. */
type SignerBinding = { readonly fingerprint256: string } | { readonly subject: NameAttributes; readonly issuer: NameAttributes };

/**
 * Where a piece of work gets its registry: it calls `current()` once, when it starts, and uses that
 * snapshot to its end (a message in flight finishes under the version it started with). A Registry is
 * its own fixed source; LiveRegistry (live-registry.ts) hands out the snapshot a reload last swapped in.
 */
export interface RegistrySource {
  current(): Registry;
}

/**
 * Read-only lookups over the configuration: who is hosted here, which peer hosts a party, which
 * services exist, which parties a back-office token may act for, which trust store applies. Immutable:
 * a reload builds a new one (its `version` the next number) and swaps it in whole.
 */
export class Registry implements RegistrySource {
  private readonly hosted = new Map<string, HostedParty>();
  private readonly peerByParty = new Map<string, PeerNode>();
  private readonly trustByPeer = new Map<string, TrustStore>();
  /** Parties whose signers are configured: only these certificates sign for them. */
  private readonly signersByParty = new Map<string, SignerBinding[]>();
  readonly trust: TrustStore;
  private auditTrustStore: TrustStore | undefined;
  /** The client certificates each peer presents over TLS. */
  private readonly tlsClientsByPeer: Array<{ peer: PeerNode; bindings: SignerBinding[] }> = [];
  /** Operators first: a token listed under both roles acts as an operator. */
  private readonly staffTokens: ReadonlyArray<readonly [StaffRole, readonly StaffTokenEntry[]]>;

  constructor(
    readonly config: NodeConfig,
    /** Which version of the registry this is: 1 at start, one more for each reload applied. */
    readonly version = 1,
  ) {
    this.staffTokens = [
      ['operator', staffTokenEntries('operator', config.node.operatorTokens)],
      ['auditor', staffTokenEntries('auditor', config.log.auditorTokens)],
    ];
    this.trust = TrustStore.fromCertificates([...config.trust.anchors]);
    for (const p of config.parties) {
      this.hosted.set(p.code, p);
      if (p.signers) this.signersByParty.set(p.code, p.signers.map(signerBinding));
    }
    for (const peer of config.peers) {
      for (const code of peer.parties) this.peerByParty.set(code, peer);
      this.trustByPeer.set(peer.name, peer.caCertificates.length > 0 ? this.trust.withExtra([...peer.caCertificates]) : this.trust);
      if (peer.tls?.clientCertificates) this.tlsClientsByPeer.push({ peer, bindings: peer.tls.clientCertificates.map(signerBinding) });
      for (const { party, ...signer } of peer.signers ?? [])
        this.signersByParty.set(party, [...(this.signersByParty.get(party) ?? []), signerBinding(signer)]);
    }
  }

  /** Routing by competence (config `competence`): the table and who may send by role; undefined when not configured. */
  get competence(): NodeConfig['competence'] {
    return this.config.competence;
  }

  /** A Registry as its own source: always itself. */
  current(): Registry {
    return this;
  }

  hostedParty(code: string): HostedParty | undefined {
    return this.hosted.get(code);
  }

  peerFor(partyCode: string): PeerNode | undefined {
    return this.peerByParty.get(partyCode);
  }

  isKnownParty(code: string): boolean {
    return this.hosted.has(code) || this.peerByParty.has(code);
  }

  /** Every anchor the node trusts for anyone (its own and its peers' CAs): what auditors re-verify with. */
  auditTrust(): TrustStore {
    // Built once per snapshot: its configuration does not change, and one store keeps its issuer-path cache across requests.
    return (this.auditTrustStore ??= this.trust.withExtra(this.config.peers.flatMap((p) => [...p.caCertificates])));
  }

  /**
   * Whether `cert` may sign for `partyCode`. The one place this binding is decided, for requests and
   * replies. A party with configured signers: `cert` is one of them (by fingerprint, or by subject and
   * issuer). Otherwise: the certificate's one CN attribute is the party's nome (`CN=ComuneOrtona` signs
   * for `SPC/ComuneOrtona`); the subject is read as parsed attributes, never as text, and a
   * certificate with several CNs binds to no party, as it could be read as either.
   */
  signerIsParty(cert: X509Certificate, partyCode: string): boolean {
    const names = certificateNames(cert);
    if (!names) return false;
    const configured = this.signersByParty.get(partyCode);
    if (configured) return configured.some((s) => bindingMatches(s, cert, names));
    const cns = valuesOf(names.subject, OID_COMMON_NAME);
    return cns.length === 1 && cns[0] === partyCode.split('/')[1];
  }

  /**
   * The peer whose `tls.clientCertificates` name `cert` (by fingerprint, or subject and issuer, as
   * signers are bound); undefined when none does. Whether the certificate is trusted is judged apart.
   */
  peerForClientCertificate(cert: X509Certificate): PeerNode | undefined {
    const names = certificateNames(cert);
    if (!names) return undefined;
    return this.tlsClientsByPeer.find(({ bindings }) => bindings.some((b) => bindingMatches(b, cert, names)))?.peer;
  }

  /** Whether a presented token is an auditor token (read-only access to the message log). */
  isAuditorToken(token: string): boolean {
    return this.staffMember(token)?.role === 'auditor';
  }

  /** Whether a presented token is an operator token (GET /health's details). */
  isOperatorToken(token: string): boolean {
    return this.staffMember(token)?.role === 'operator';
  }

  /**
   * Who presents `token`: an operator or an auditor, by the name configuration gives the token; undefined
   * for any other token. Every configured hash is compared, in constant time (tokenMatches).
   */
  staffMember(token: string): StaffMember | undefined {
    let found: StaffMember | undefined;
    for (const [role, entries] of this.staffTokens) {
      for (const e of entries) if (tokenMatches(token, [e.token]) && !found) found = { role, name: e.name };
    }
    return found;
  }

  /** The trust store for signatures made by a party: the node's anchors, plus its peer's CA. */
  trustForParty(code: string): TrustStore {
    const peer = this.peerByParty.get(code);
    return (peer && this.trustByPeer.get(peer.name)) ?? this.trust;
  }

  service(provider: string, name: string, tipo?: string): ServiceDef | undefined {
    return this.config.services.find((s) => s.provider === provider && s.name === name && (tipo === undefined || s.tipo === tipo));
  }

  /**
   * Asincrono simmetrico: when `answer` is the service a consumer offers for answers, the request
   * service of `provider` whose correlated answer it receives; undefined for any other service.
   */
  requestServiceAnsweredBy(answer: ServiceDef, provider: string): ServiceDef | undefined {
    if (answer.profile !== 'asincronoSimmetrico' || answer.correlatedService !== undefined) return undefined;
    return this.config.services.find(
      (s) =>
        s.provider === provider &&
        s.profile === 'asincronoSimmetrico' &&
        s.correlatedService === answer.name &&
        (!s.consumers || s.consumers.includes(answer.provider)),
    );
  }

  /** Parties a presented back-office token may act for (empty when the token is unknown). */
  partiesForToken(token: string): ReadonlySet<string> {
    return new Set(this.config.parties.filter((p) => tokenMatches(token, p.apiTokens)).map((p) => p.code));
  }
}

function bindingMatches(b: SignerBinding, cert: X509Certificate, names: NonNullable<ReturnType<typeof certificateNames>>): boolean {
  return 'fingerprint256' in b
    ? b.fingerprint256 === cert.fingerprint256
    : sameName(b.subject, names.subject) && sameName(b.issuer, names.issuer);
}

/** A configured signer as the registry compares it (config loading has checked its names already). */
function signerBinding(signer: Readonly<ConfigFileSigner>): SignerBinding {
  if ('fingerprint256' in signer) return { fingerprint256: signer.fingerprint256.toUpperCase() };
  const name = (text: string): NameAttributes => {
    const parsed = parseDistinguishedName(text);
    if ('problem' in parsed) throw new ConfigError('TRAMITE_ERR_CONFIG_INVALID', `signer name "${text}": ${parsed.problem}`);
    return parsed.attributes;
  };
  return { subject: name(signer.subject), issuer: name(signer.issuer) };
}
