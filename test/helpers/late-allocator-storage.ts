/**
 * A FileStorage whose files prepared ahead of need are created only when the test says so: it
 * stands for an allocator thread that runs late (busy warming other files on a loaded machine),
 * which is otherwise a matter of timing. Everything else goes straight to the wrapped storage.
 */

import type { FileStorage, FlushHealth, FlushLane, MappedFile } from "../../src/store/mapped-file.ts";

export class LateAllocatorStorage implements FileStorage {
  readonly kind: FileStorage["kind"];
  private held: (() => void)[] = [];
  private created: Promise<unknown>[] = [];

  constructor(private readonly inner: FileStorage) {
    this.kind = inner.kind;
  }

  /** Paths asked for and not created yet. */
  readonly waiting: string[] = [];

  prepareFile(path: string, size: number, warmBytes: number): Promise<MappedFile> {
    this.waiting.push(path);
    const file = new Promise<void>((resolve) => this.held.push(resolve)).then(() => {
      this.waiting.splice(this.waiting.indexOf(path), 1);
      return this.inner.prepareFile(path, size, warmBytes);
    });
    this.created.push(file.catch(() => undefined));
    return file;
  }

  /** Lets the allocator catch up: creates every file asked for so far, in order, and waits for them. */
  async catchUp(): Promise<void> {
    const held = this.held;
    const created = this.created;
    this.held = [];
    this.created = [];
    for (const release of held) release();
    await Promise.all(created);
  }

  openFile(path: string, size: number, lane?: FlushLane): MappedFile {
    return this.inner.openFile(path, size, lane);
  }

  fileSize(path: string): number | undefined {
    return this.inner.fileSize(path);
  }

  listFiles(dir: string): string[] {
    return this.inner.listFiles(dir);
  }

  listDirs(dir: string): string[] {
    return this.inner.listDirs(dir);
  }

  removeFile(path: string): void {
    this.inner.removeFile(path);
  }

  removeDir(path: string): void {
    this.inner.removeDir(path);
  }

  makeDir(path: string): void {
    this.inner.makeDir(path);
  }

  flushHealth(): FlushHealth {
    return this.inner.flushHealth();
  }

  /** The wrapped storage is not this one's to stop. */
  async close(): Promise<void> {}
}
