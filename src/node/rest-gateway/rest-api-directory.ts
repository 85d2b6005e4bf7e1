import { ApiError } from '../../core/errors.js';
import type { RestServiceConfig } from '../../config/config-types.js';

/**
 * The REST APIs of the configuration, found as the gateway's paths name them:
 * `/rest/out/{provider}/{name}/{version}` (provider = its code with the slash escaped, `SPC%2FRegione`,
 * or its nome alone, `Regione`, when no other party has that nome) and `/rest/in/{name}/{version}`.
 */
export class RestApiDirectory {
  constructor(
    private readonly apis: readonly RestServiceConfig[],
    private readonly hosted: (code: string) => boolean,
  ) {}

  /** An API provided on a peer, which a party hosted here calls (fruizione). */
  consumed(provider: string, name: string, version: string): RestServiceConfig {
    const api = this.apis.find(
      (a) => !this.hosted(a.provider) && matchesProvider(a.provider, provider) && a.name === name && a.api.version === version,
    );
    if (!api) throw unknown(`no REST API ${name} ${version} of ${provider} is provided on a peer of this node`);
    return api;
  }

  /** An API provided by a party hosted here (erogazione). */
  provided(name: string, version: string): RestServiceConfig {
    const api = this.apis.find((a) => this.hosted(a.provider) && a.name === name && a.api.version === version);
    if (!api) throw unknown(`no REST API ${name} ${version} is provided here`);
    return api;
  }

  /** Every API provided here. */
  providedHere(): RestServiceConfig[] {
    return this.apis.filter((a) => this.hosted(a.provider));
  }

  /** Every API provided on a peer. */
  consumedHere(): RestServiceConfig[] {
    return this.apis.filter((a) => !this.hosted(a.provider));
  }
}

function matchesProvider(code: string, asked: string): boolean {
  return code === asked || code.slice(code.indexOf('/') + 1) === asked;
}

function unknown(message: string): ApiError {
  return new ApiError('TRAMITE_ERR_REST_API_UNKNOWN', 404, message);
}
