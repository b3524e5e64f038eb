/**
 * The geometry a data dir was created with, recorded in `store.json` so that later settings
 * cannot make the store misread its own files:
 *
 *   dataDir/store.json  {"formatVersion":1,"commitLogFileBytes":…,"consumeQueueEntriesPerFile":…,
 *                        "indexSlotsPerFile":…,"indexEntriesPerFile":…}
 *
 * Opening with other file sizes uses the recorded ones (they decide how every file is read) and
 * logs both values; a format version this build does not read is refused. A data dir from
 * before this file records its CommitLog file size as found on disk and the rest as configured.
 * Written once, atomically, at creation.
 */

import { join } from "node:path";
import { MqError } from "../common/errors.ts";
import { commitLogFileBytesMax, commitLogFileBytesMin, pageBytes } from "../common/limits.ts";
import type { Logger } from "../common/logger.ts";
import { readFileIfExists, writeFileAtomicSync } from "./atomic-file.ts";
import { parseOffsetFileName } from "./file-names.ts";
import type { FileStorage } from "./mapped-file.ts";

export const storeFormatVersion = 1;

export interface StoreGeometry {
  commitLogFileBytes: number;
  consumeQueueEntriesPerFile: number;
  indexSlotsPerFile: number;
  indexEntriesPerFile: number;
}

const geometryFields = ["commitLogFileBytes", "consumeQueueEntriesPerFile", "indexSlotsPerFile", "indexEntriesPerFile"] as const satisfies readonly (keyof StoreGeometry)[];

export interface SettleGeometryOptions {
  dataDir: string;
  configured: StoreGeometry;
  storage: FileStorage;
  logger: Logger;
}

/** The geometry to open `dataDir` with: the recorded one, or the configured one recorded now. */
export function settleGeometry(options: SettleGeometryOptions): StoreGeometry {
  const { dataDir, configured, logger } = options;
  const path = join(dataDir, "store.json");
  const text = readFileIfExists(path);
  if (text === undefined) {
    const geometry = { ...configured, commitLogFileBytes: existingCommitLogFileBytes(options) ?? configured.commitLogFileBytes };
    writeFileAtomicSync(path, JSON.stringify({ formatVersion: storeFormatVersion, ...geometry }, null, 2) + "\n");
    return geometry;
  }
  const recorded = parse(path, text);
  if (recorded.formatVersion !== storeFormatVersion) {
    throw new MqError("STORE_FORMAT_UNSUPPORTED", { dir: dataDir, recorded: recorded.formatVersion, supported: storeFormatVersion });
  }
  for (const field of geometryFields) {
    if (recorded[field] !== configured[field]) logger.warn(`Data dir "${dataDir}" was created with ${field} ${recorded[field]}: using it, not the configured ${configured[field]}`);
  }
  return { commitLogFileBytes: recorded.commitLogFileBytes, consumeQueueEntriesPerFile: recorded.consumeQueueEntriesPerFile, indexSlotsPerFile: recorded.indexSlotsPerFile, indexEntriesPerFile: recorded.indexEntriesPerFile };
}

function parse(path: string, text: string): StoreGeometry & { formatVersion: number } {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new MqError("STORE_CORRUPT", { what: `"${path}"`, reason: (error as Error).message });
  }
  for (const field of ["formatVersion", ...geometryFields]) {
    const value = parsed?.[field];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) throw new MqError("STORE_CORRUPT", { what: `"${path}"`, reason: `${field} is ${JSON.stringify(value)}, expected a positive integer` });
  }
  return parsed as unknown as StoreGeometry & { formatVersion: number };
}

/** The size of the CommitLog files already in a data dir that predates store.json. */
function existingCommitLogFileBytes({ dataDir, storage }: SettleGeometryOptions): number | undefined {
  const dir = join(dataDir, "commitlog");
  const first = storage.listFiles(dir).find((name) => parseOffsetFileName(name) !== undefined);
  const size = first === undefined ? undefined : storage.fileSize(join(dir, first));
  // Only a size a CommitLog file can have; anything else is for CommitLog.load to report.
  return size !== undefined && size >= commitLogFileBytesMin && size <= commitLogFileBytesMax && size % pageBytes === 0 ? size : undefined;
}
