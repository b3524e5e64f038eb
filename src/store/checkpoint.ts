/**
 * The checkpoint: how far the store is known durable, so recovery replays only what follows.
 * Two slots written alternately, each with a sequence number and a CRC, so a write torn by a
 * crash leaves the previous slot intact.
 *
 *   slot (at 0 and 512): crc (4) of bytes [4, 36), sequence (8), commitLogFlushed (8),
 *                        dispatchFlushed (8), timestampMs (8)
 *
 * dispatchFlushed: every record below it has its consume-queue and index entries on disk.
 */

import { checkpointBytes } from "../common/limits.ts";
import { getUint64, setUint64 } from "../common/message-record.ts";
import type { FileStorage, MappedFile } from "./mapped-file.ts";

export interface CheckpointState {
  commitLogFlushed: number;
  dispatchFlushed: number;
  timestampMs: number;
}

const slotPositions = [0, 512] as const;
const slotBytes = 36;

export class Checkpoint {
  private readonly file: MappedFile;
  private sequence = 0;
  private nextSlot = 0;
  state: CheckpointState = { commitLogFlushed: 0, dispatchFlushed: 0, timestampMs: 0 };

  constructor(path: string, storage: FileStorage) {
    this.file = storage.openFile(path, checkpointBytes);
    this.read();
  }

  private read(): void {
    const view = this.file.view;
    let best: { sequence: number; slot: number } | undefined;
    slotPositions.forEach((position, slot) => {
      const sequence = getUint64(view, position + 4);
      if (sequence === 0) return;
      if (Bun.hash.crc32(this.file.bytes.subarray(position + 4, position + slotBytes)) !== view.getUint32(position)) return;
      if (best === undefined || sequence > best.sequence) best = { sequence, slot };
    });
    if (best === undefined) return;
    const position = slotPositions[best.slot]!;
    this.sequence = best.sequence;
    this.nextSlot = 1 - best.slot;
    this.state = {
      commitLogFlushed: getUint64(view, position + 12),
      dispatchFlushed: getUint64(view, position + 20),
      timestampMs: getUint64(view, position + 28),
    };
  }

  /** Writes `state` into the older slot and makes it durable. */
  async write(state: CheckpointState): Promise<void> {
    const position = slotPositions[this.nextSlot]!;
    const view = this.file.view;
    this.sequence += 1;
    setUint64(view, position + 4, this.sequence);
    setUint64(view, position + 12, state.commitLogFlushed);
    setUint64(view, position + 20, state.dispatchFlushed);
    setUint64(view, position + 28, state.timestampMs);
    view.setUint32(position, Bun.hash.crc32(this.file.bytes.subarray(position + 4, position + slotBytes)));
    this.nextSlot = 1 - this.nextSlot;
    this.state = { ...state };
    await this.file.flush(position, position + slotBytes);
  }

  writeSync(state: CheckpointState): void {
    const position = slotPositions[this.nextSlot]!;
    void this.write(state);
    this.file.flushSync(position, position + slotBytes);
  }

  close(): void {
    this.file.close();
  }
}
