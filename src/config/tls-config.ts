import { readNamedFile } from '../crypto/read-named-file.js';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { ConfigError } from '../core/errors.js';
import type { ConfigFile, ConfigFileListenTls, ConfigFilePeerTls, TlsMaterial } from './config-types.js';
import type { Problem } from './schema-problems.js';
import { parseDistinguishedName } from '../crypto/certificate-names.js';

/*
 * The TLS parts of the config (node.listen.tls, node.listen.plainHttp, peers[].tls): the checks across
 * fields, the files they name, and the key material they load. Kept apart from load-config.ts, which
 * calls these three.
 */

/** A listener is TLS or, said explicitly, plain HTTP; an https peer has a pinned CA; pairs come in pairs. */
export function tlsProblems(config: ConfigFile): Problem[] {
  const problems: Problem[] = [];
  const listen = config.node.listen;
  if (listen.tls === undefined && !listen.plainHttp)
    problems.push({
      path: 'node.listen',
      what: 'has neither tls nor plainHttp: true',
      fix: 'add "tls": { "certFile", "keyFile", "clientCaFiles" } (tramite init makes a development one), or set "plainHttp": true to listen without TLS (loopback and tests only)',
    });
  if (listen.tls !== undefined && listen.plainHttp)
    problems.push({ path: 'node.listen.plainHttp', what: 'is true together with tls', fix: 'remove one of the two' });
  if (listen.tls) {
    if (listen.tls.requireClientCert && !listen.tls.requestCert)
      problems.push({
        path: 'node.listen.tls.requestCert',
        what: 'is false while requireClientCert is true',
        fix: 'set requestCert to true (a certificate cannot be required without being asked for)',
      });
    if (listen.tls.requestCert && listen.tls.clientCaFiles.length === 0)
      problems.push({
        path: 'node.listen.tls.clientCaFiles',
        what: 'is empty, so no client certificate could be verified',
        fix: "list the CA files that issue your peers' client certificates, or set requestCert to false",
      });
  }
  config.peers.forEach((peer, i) => {
    const https = peer.url.startsWith('https://');
    if (https && peer.tls === undefined)
      problems.push({
        path: `peers[${i}].tls`,
        what: `is missing for https peer "${peer.name}"`,
        fix: `add "tls": { "caFile": "<the CA of ${peer.name}'s server certificate>" } (pinned: the system store is not used)`,
      });
    if (!https && peer.tls !== undefined)
      problems.push({
        path: `peers[${i}].url`,
        what: `is not https:// but the peer has tls`,
        fix: 'write the peer\'s https:// URL, or remove "tls"',
      });
    peer.tls?.clientCertificates?.forEach((c, j) => {
      if (!('subject' in c)) return;
      for (const field of ['subject', 'issuer'] as const) {
        const parsed = parseDistinguishedName(c[field]);
        if ('problem' in parsed)
          problems.push({
            path: `peers[${i}].tls.clientCertificates[${j}].${field}`,
            what: `"${c[field]}" is not a distinguished name: ${parsed.problem}`,
            fix: 'write it as RFC 4514 text, most specific first, e.g. "CN=pdd.regione.example, O=Regione Abruzzo, C=IT"',
          });
      }
    });
    if (peer.tls && (peer.tls.certFile === undefined) !== (peer.tls.keyFile === undefined))
      problems.push({
        path: `peers[${i}].tls.${peer.tls.certFile === undefined ? 'certFile' : 'keyFile'}`,
        what: 'is missing',
        fix: 'give certFile and keyFile together, or neither (node.listen.tls is then presented)',
      });
  });
  return problems;
}

/** Every file the TLS settings name, with the field that names it. */
export function tlsFiles(config: ConfigFile): Array<{ path: string; file: string }> {
  const files: Array<{ path: string; file: string | undefined }> = [];
  const tls = config.node.listen.tls;
  if (tls) {
    files.push({ path: 'node.listen.tls.certFile', file: tls.certFile }, { path: 'node.listen.tls.keyFile', file: tls.keyFile });
    tls.clientCaFiles.forEach((file, i) => files.push({ path: `node.listen.tls.clientCaFiles[${i}]`, file }));
  }
  config.peers.forEach((peer, i) => {
    if (!peer.tls) return;
    files.push(
      { path: `peers[${i}].tls.caFile`, file: peer.tls.caFile },
      { path: `peers[${i}].tls.certFile`, file: peer.tls.certFile },
      { path: `peers[${i}].tls.keyFile`, file: peer.tls.keyFile },
    );
  });
  return files.flatMap((f) => (f.file === undefined ? [] : [{ path: f.path, file: f.file }]));
}

export type LoadedListenTls = ConfigFileListenTls & { material: TlsMaterial; clientCaPem: string[] };
export type LoadedPeerTls = ConfigFilePeerTls & { caPem: string[]; client?: TlsMaterial };

/** The listener's certificate chain, key and client CAs, read from their (absolute) files. */
export function loadListenTls(tls: ConfigFileListenTls, abs: (f: string) => string): LoadedListenTls {
  const certFile = abs(tls.certFile);
  const keyFile = abs(tls.keyFile);
  const clientCaFiles = tls.clientCaFiles.map(abs);
  return {
    ...tls,
    certFile,
    keyFile,
    clientCaFiles,
    material: loadTlsMaterial(certFile, keyFile, 'node.listen.tls'),
    clientCaPem: clientCaFiles.map((f, i) => readCaPem(f, `node.listen.tls.clientCaFiles[${i}]`)),
  };
}

/** A peer's pinned CA and the client certificate this node presents to it (its own, or the listener's). */
export function loadPeerTls(tls: ConfigFilePeerTls, abs: (f: string) => string, path: string, listen?: LoadedListenTls): LoadedPeerTls {
  const caFile = abs(tls.caFile);
  const own =
    tls.certFile !== undefined && tls.keyFile !== undefined
      ? { certFile: abs(tls.certFile), keyFile: abs(tls.keyFile), client: loadTlsMaterial(abs(tls.certFile), abs(tls.keyFile), path) }
      : undefined;
  const client = own?.client ?? listen?.material;
  return {
    ...tls,
    caFile,
    ...(own ? { certFile: own.certFile, keyFile: own.keyFile } : {}),
    caPem: [readCaPem(caFile, `${path}.caFile`)],
    ...(client ? { client } : {}),
  };
}

function loadTlsMaterial(certFile: string, keyFile: string, path: string): TlsMaterial {
  const certPem = readText(certFile, `${path}.certFile`);
  const keyPem = readText(keyFile, `${path}.keyFile`);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch (cause) {
    throw new ConfigError('TRAMITE_ERR_KEY_INVALID', `config ${path}.certFile: ${certFile} holds no PEM certificate`, {
      cause,
      field: `${path}.certFile`,
    });
  }
  let matches = false;
  let why = "the key is not the certificate's";
  try {
    matches = certificate.checkPrivateKey(createPrivateKey(keyPem));
  } catch (cause) {
    why = (cause as Error).message;
  }
  if (!matches)
    throw new ConfigError(
      'TRAMITE_ERR_KEY_INVALID',
      `config ${path}.keyFile: ${keyFile} is not the unencrypted private key of ${certFile} (${why})`,
      {
        field: `${path}.keyFile`,
      },
    );
  return { certPem, keyPem, certificate };
}

function readCaPem(file: string, field: string): string {
  const text = readText(file, field);
  if (!text.includes('-----BEGIN CERTIFICATE-----'))
    throw new ConfigError('TRAMITE_ERR_KEY_INVALID', `config ${field}: ${file} holds no PEM certificate`, { field });
  return text;
}

function readText(file: string, field: string): string {
  return readNamedFile(file, `config ${field}`, { field }).toString('utf8');
}
