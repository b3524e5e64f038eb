/**
 * Removing the CommitLog files the log has dropped (retention, a torn tail cut at recovery)
 * without the allocator thread bringing one back.
 *
 * A file asked for ahead of need may still be waiting for the allocator thread (busy warming
 * other files on a loaded machine) when the writer reaches it: the roll then opens the file
 * itself, and the allocation stays queued. If retention deletes that file before the allocator
 * gets to it, the allocator's open(O_CREAT) creates it again, empty, and the next start takes the
 * log to begin there: every consume queue's minimum falls back to its first file. So a file with
 * an allocation in flight is unlinked once that allocation is done, and the files after it wait
 * their turn, so a crash in between never leaves a gap between files.
 */

import type { Logger } from "../common/logger.ts";
import type { FileStorage } from "./mapped-file.ts";

export class CommitLogRemovals {
  /** Paths with an allocation in flight: settles (never rejects) once it is done. */
  private readonly allocations = new Map<string, Promise<void>>();
  /** The last deferred removal; undefined once every removal is done. */
  private pending: Promise<void> | undefined;

  constructor(private readonly storage: FileStorage, private readonly logger: Logger) {}

  /** Remembers that the allocator thread may still create `path` until `file` settles. */
  trackAllocation(path: string, file: Promise<unknown>): void {
    const earlier = this.allocations.get(path);
    const done = Promise.all([earlier, file.then(() => undefined, () => undefined)]).then(() => undefined);
    this.allocations.set(path, done);
    void done.then(() => {
      if (this.allocations.get(path) === done) this.allocations.delete(path);
    });
  }

  /** Unlinks `path` now, or once its allocation and the removals before it are done. */
  remove(path: string): void {
    const allocation = this.allocations.get(path);
    if (allocation === undefined && this.pending === undefined) {
      this.storage.removeFile(path);
      return;
    }
    const removal = (this.pending ?? Promise.resolve())
      .then(() => allocation)
      .then(() => this.storage.removeFile(path))
      .catch((error: Error) => this.logger.warn(`Cannot remove CommitLog file "${path}": ${error.message}`));
    this.pending = removal;
    void removal.then(() => {
      if (this.pending === removal) this.pending = undefined;
    });
  }

  /** Resolves once every removal asked for so far is done. */
  async done(): Promise<void> {
    await this.pending;
  }
}
