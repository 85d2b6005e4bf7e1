import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Agent, type Dispatcher } from 'undici';
import { TramiteError } from '../core/errors.js';

/** How a command that calls the running node's operator API proves who it is, and which CA it trusts. */
export interface OperatorCredentials {
  readonly token: string;
  readonly tokenFile: string;
  /** Trusts the node's CA (`--cacert`, else `pki/ca.cert.pem` beside the config) on https; none on http. Close it when done. */
  readonly dispatcher: Dispatcher | undefined;
}

/**
 * The operator token (`--token-file`, else `pki/operator.token` beside the config, as `tramite init`
 * writes it) and the CA to check the node's TLS certificate with, for calls to `urls`.
 */
export function operatorCredentials(
  home: string,
  opts: { readonly tokenFile?: string | undefined; readonly cacert?: string | undefined },
  urls: readonly string[],
): OperatorCredentials {
  const tokenFile = resolve(opts.tokenFile ?? join(home, 'pki', 'operator.token'));
  if (!existsSync(tokenFile))
    throw new TramiteError(
      'TRAMITE_ERR_CONFIG_UNREADABLE',
      `no operator token at ${tokenFile} — fix: give --token-file, a token listed in node.operatorTokens`,
    );
  const token = readFileSync(tokenFile, 'utf8').trim();
  const caFile = opts.cacert ?? (existsSync(join(home, 'pki', 'ca.cert.pem')) ? join(home, 'pki', 'ca.cert.pem') : undefined);
  const tls = urls.some((u) => u.startsWith('https:'));
  const dispatcher = tls && caFile ? new Agent({ connect: { ca: readFileSync(caFile, 'utf8') } }) : undefined;
  return { token, tokenFile, dispatcher };
}
