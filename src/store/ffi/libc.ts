/**
 * The few libc calls the store needs, through `bun:ffi`. Every call returns the raw result;
 * `errno()` reads the calling thread's errno right after a failed call (-1). Used on the main
 * thread and inside the store's Workers (same process, so pointers are valid in both).
 */

import { dlopen, FFIType, read, type Pointer } from "bun:ffi";

const libraryNames = ["libc.so.6", "libc.so", "libc.dylib", "/usr/lib/libSystem.B.dylib"];

function openLibc() {
  const symbols = {
    open: { args: [FFIType.cstring, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    ftruncate: { args: [FFIType.i32, FFIType.i64], returns: FFIType.i32 },
    fallocate: { args: [FFIType.i32, FFIType.i32, FFIType.i64, FFIType.i64], returns: FFIType.i32 },
    posix_fallocate: { args: [FFIType.i32, FFIType.i64, FFIType.i64], returns: FFIType.i32 },
    mmap: { args: [FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.i32, FFIType.i32, FFIType.i64], returns: FFIType.ptr },
    munmap: { args: [FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
    msync: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
    madvise: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
    fdatasync: { args: [FFIType.i32], returns: FFIType.i32 },
    flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  } as const;
  let lastError: unknown;
  for (const name of libraryNames) {
    try {
      return dlopen(name, symbols).symbols;
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(`Cannot load libc for memory-mapped files: ${String(lastError)}`);
}

export const libc = openLibc();

export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_CLOEXEC = 0o2000000;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 1;
export const MS_SYNC = 4;
export const MADV_WILLNEED = 3;
export const MADV_POPULATE_WRITE = 23;
export const FALLOC_FL_KEEP_SIZE = 1;
export const FALLOC_FL_ZERO_RANGE = 0x10;
export const LOCK_EX = 2;
export const LOCK_NB = 4;

export function errno(): number {
  const location = libc.__errno_location();
  return location === null ? 0 : read.i32(location, 0);
}

const errnoNames: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 5: "EIO", 9: "EBADF", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES",
  17: "EEXIST", 22: "EINVAL", 24: "EMFILE", 28: "ENOSPC", 95: "EOPNOTSUPP",
};

/**
 * Gives [0, size) of `fd` real blocks (the file grows to `size` if shorter), so writes through a
 * mapping of it can never hit a full disk: an unbacked page written on a full file system kills
 * the process with SIGBUS. posix_fallocate uses fallocate, and where the file system has none
 * writes one byte per block — never a sparse ftruncate. Returns 0 or the error number (ENOSPC...).
 */
export function allocateBlocks(fd: number, size: number): number {
  return libc.posix_fallocate(fd, 0, size);
}

export function errnoName(code: number): string {
  return errnoNames[code] ?? `errno ${code}`;
}

export function cString(text: string): Buffer {
  return Buffer.from(text + "\0", "utf8");
}

export function isMapFailed(address: Pointer | bigint | null): boolean {
  // MAP_FAILED is (void*)-1; bun:ffi gives it back as a huge number or null.
  return address === null || Number(address) === 0 || Number(address) >= 2 ** 64 - 4096;
}
