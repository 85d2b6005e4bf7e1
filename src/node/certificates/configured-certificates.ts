import type { NodeConfig } from '../../config/config-types.js';
import type { CertificateSource } from './certificate-inventory.js';
import { certificateChainOfFile, certificatesOfFile } from './certificate-files.js';

/**
 * The certificates the configuration names, as loaded (party keys' certificates and chains as the
 * node signs with them) or as read from their files. A new kind of certificate file in the config is
 * one more line in this list: `fromFile(role, file, field)` for CA files (every certificate in the
 * role), certificateChainOfFile for a certificate followed by its CAs, e.g.
 * `...(tls ? certificateChainOfFile('TLS server certificate', tls.certFile, 'node.listen.tls.certFile') : [])`.
 */
export function configuredCertificates(config: NodeConfig): CertificateSource[] {
  const fromFile = (role: string, file: string | undefined, field: string): CertificateSource[] =>
    file === undefined ? [] : [certificatesOfFile(role, file, field)];
  return [
    ...config.parties.flatMap((party): CertificateSource[] => {
      const source = party.keystore?.file ?? party.certFile ?? party.code;
      return [
        { origin: { role: `party ${party.code} signing`, source }, certificates: [party.identity.certificate] },
        { origin: { role: `party ${party.code} signing chain`, source }, certificates: party.identity.chain },
      ];
    }),
    ...config.trust.caFiles.flatMap((file, i) => fromFile('trust anchor', file, `trust.caFiles[${i}]`)),
    ...config.peers.flatMap((peer) =>
      peer.caFile === undefined
        ? []
        : [{ origin: { role: `peer ${peer.name} CA`, source: peer.caFile }, certificates: peer.caCertificates }],
    ),
    ...fromFile('TSA trust anchor', config.log.tsa?.caFile, 'log.tsa.caFile'),
    ...tlsCertificates(config, fromFile),
  ];
}

/** TLS: the server certificate (and this node's default client certificate), client CAs, and per peer the pinned CA and any own client certificate. */
function tlsCertificates(
  config: NodeConfig,
  fromFile: (role: string, file: string | undefined, field: string) => CertificateSource[],
): CertificateSource[] {
  const tls = config.node.listen.tls;
  return [
    ...(tls ? certificateChainOfFile('TLS server certificate', tls.certFile, 'node.listen.tls.certFile') : []),
    ...(tls?.clientCaFiles ?? []).flatMap((file, i) => fromFile('TLS client CA', file, `node.listen.tls.clientCaFiles[${i}]`)),
    ...config.peers.flatMap((peer, i) => [
      ...fromFile(`peer ${peer.name} TLS CA`, peer.tls?.caFile, `peers[${i}].tls.caFile`),
      ...(peer.tls?.certFile
        ? certificateChainOfFile(`TLS client certificate for peer ${peer.name}`, peer.tls.certFile, `peers[${i}].tls.certFile`)
        : []),
    ]),
  ];
}
