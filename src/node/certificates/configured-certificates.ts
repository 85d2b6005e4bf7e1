import type { NodeConfig } from '../../config/config-types.js';
import type { CertificateSource } from './certificate-inventory.js';
import { certificatesOfFile } from './certificate-files.js';

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
  ];
}
