import { ApiError, TramiteError } from '../core/errors.js';
import type { StaffMember } from '../core/staff-member.js';
import { bundleToJsonSharing } from '../log/log-bundle.js';
import type { TramiteNode } from '../node/tramite-node.js';
import { HttpRefusal } from './http-refusal.js';

/** When a refused export may be retried: a bundle of the largest range allowed takes seconds to build. */
const RETRY_AFTER_SECONDS = 10;

/** The nodes building a bundle now (console and auditor API alike): one export at a time per node. */
const building = new WeakSet<TramiteNode>();

export interface StaffExport {
  readonly json: string;
  readonly filename: string;
}

/**
 * A bundle of the log for [from, to], asked for over HTTP by a member of staff (the console, the
 * auditor API). A bundle is built in memory, so a range holding more than log.maxExportRecords is refused
 * before it is read (413), and a second export while one is built is turned away (429 + Retry-After);
 * each export is recorded in the chained log, naming who took it, before the bundle leaves the node.
 */
export async function exportForStaff(node: TramiteNode, by: StaffMember, from: string, to: string): Promise<StaffExport> {
  // Checked and marked in one turn, before any await: concurrent requests cannot all pass.
  if (building.has(node))
    throw new HttpRefusal(
      'TRAMITE_ERR_EXPORT_BUSY',
      429,
      'another log bundle export is being built on this node; retry later',
      RETRY_AFTER_SECONDS,
    );
  building.add(node);
  try {
    const bundle = await node
      .auditor()
      .exportBundle(from, to, new Date(), { maxRecords: node.config.log.maxExportRecords })
      .catch((err: unknown) => {
        if (err instanceof TramiteError && err.code === 'TRAMITE_ERR_EXPORT_TOO_LARGE') throw new ApiError(err.code, 413, err.message);
        if (err instanceof TramiteError && err.code === 'TRAMITE_ERR_NOT_FOUND') throw new ApiError(err.code, 404, err.message);
        throw err;
      });
    const json = await bundleToJsonSharing(bundle);
    const { firstSeq, lastSeq, recordCount } = bundle.manifest;
    await node.store.recordOperatorAction({
      by,
      action: 'bundle-exported',
      target: `${from}..${to}`,
      detail: { records: recordCount, firstSeq, lastSeq },
    });
    return { json, filename: `tramite-log-${firstSeq}-${lastSeq}.json` };
  } finally {
    building.delete(node);
  }
}
