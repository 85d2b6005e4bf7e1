/**
 * The version of the contract between the node and its adapters (this SDK): adapters declare the range
 * they were written for (`busApi: '^1'`) and the node refuses one whose range leaves it out, at load,
 * instead of failing later on a missing hook. A change an existing adapter could break on is a new major.
 */
import semver from 'semver';
import { TramiteError } from '../../src/core/errors.js';

export const BUS_API_VERSION = '1.0.0';

/** Why `busApi` does not admit this node's bus API, or undefined when it does. */
export function busApiMismatch(busApi: unknown, version: string = BUS_API_VERSION): string | undefined {
  if (typeof busApi !== 'string' || busApi.trim() === '')
    return `declares no busApi (a semver range of the bus API it was written for, e.g. '^1'; this node has ${version})`;
  if (semver.validRange(busApi) === null) return `busApi "${busApi}" is not a semver range (e.g. '^1')`;
  if (!semver.satisfies(version, busApi)) return `busApi "${busApi}" does not include this node's bus API ${version}`;
  return undefined;
}

/** Throws TRAMITE_ERR_ADAPTER_BUS_API when `busApi` does not admit this node's bus API. */
export function checkBusApi(adapterId: string, busApi: unknown, version: string = BUS_API_VERSION): void {
  const mismatch = busApiMismatch(busApi, version);
  if (mismatch) throw new TramiteError('TRAMITE_ERR_ADAPTER_BUS_API', `adapter ${adapterId} ${mismatch}`);
}
