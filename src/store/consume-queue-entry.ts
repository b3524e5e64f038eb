/**
 * A consume-queue entry: 20 bytes, big-endian — CommitLog physical offset (8), record size (4),
 * tag hash (8). A size of 0 marks a blank entry (a gap filled at recovery); readers skip it.
 */

import { getUint64, setUint64 } from "../common/message-record.ts";
import { physicalOffset as toPhysicalOffset, type PhysicalOffset } from "../common/offsets.ts";

export const entryBytes = 20;

export interface ConsumeQueueEntry {
  physicalOffset: PhysicalOffset;
  size: number;
  tagHash: number;
}

export function writeEntry(view: DataView, position: number, entry: ConsumeQueueEntry): void {
  setUint64(view, position, entry.physicalOffset);
  view.setUint32(position + 8, entry.size);
  setUint64(view, position + 12, entry.tagHash);
}

export function readEntry(view: DataView, position: number): ConsumeQueueEntry {
  return {
    physicalOffset: toPhysicalOffset(getUint64(view, position)),
    size: view.getUint32(position + 8),
    tagHash: getUint64(view, position + 12),
  };
}

export function entrySize(view: DataView, position: number): number {
  return view.getUint32(position + 8);
}

export function entryPhysicalOffset(view: DataView, position: number): PhysicalOffset {
  return toPhysicalOffset(getUint64(view, position));
}

export function entryTagHash(view: DataView, position: number): number {
  return getUint64(view, position + 12);
}
