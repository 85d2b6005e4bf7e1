import type { WorkItem } from '../../queue/work-queue.js';

/** A hand-over to schedule: inbound ids are unique per sender only, so the job names the sender too. */
export interface DispatchItem extends WorkItem {
  readonly from: string;
}

/** One string per inbound message (sender and id): dispatch job keys, and reception's in-flight set. */
export function inboundKeyText(key: { readonly id: string; readonly from: string }): string {
  return JSON.stringify([key.from, key.id]);
}
