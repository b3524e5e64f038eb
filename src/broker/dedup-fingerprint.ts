/**
 * The dedup window's fingerprint of an id: a 32-bit hash of (kind, topic, id) — FNV-1a over the
 * UTF-16 units, a msgId's hex digits folded to upper case (msgIds compare case-insensitively),
 * then murmur3's fmix32. No string is built. The hash is split at the topic (`topicSeed`) so a
 * scan of the CommitLog hashes each topic once, and an id read from a record's bytes
 * (`fingerprintOfBytes`) hashes to what its string does: an ASCII byte is its UTF-16 unit.
 */

import { fmix32 } from "../common/hash.ts";

/** The hash state after the kind and the topic, which every id of that topic continues. */
export function topicSeed(topic: string, byDedupKey: boolean): number {
  let hash = byDedupKey ? 0x050c5d1f : 0x811c9dc5;
  for (let index = 0; index < topic.length; index++) hash = Math.imul(hash ^ topic.charCodeAt(index), 0x01000193);
  return Math.imul(hash ^ 0xffff, 0x01000193);
}

/** The fingerprint of `value` under a topic's seed; `fold`: a msgId (hex digits compare without case). */
export function fingerprintFrom(seed: number, value: string, fold: boolean): number {
  let hash = seed;
  for (let index = 0; index < value.length; index++) {
    let unit = value.charCodeAt(index);
    if (fold && unit >= 0x61 && unit <= 0x66) unit -= 0x20;
    hash = Math.imul(hash ^ unit, 0x01000193);
  }
  return fmix32(hash);
}

/** `fingerprintFrom(topicSeed(topic, byDedupKey), value, !byDedupKey)` in one loop: it runs on every send. */
export function fingerprintOf(topic: string, byDedupKey: boolean, value: string): number {
  let hash = byDedupKey ? 0x050c5d1f : 0x811c9dc5;
  for (let index = 0; index < topic.length; index++) hash = Math.imul(hash ^ topic.charCodeAt(index), 0x01000193);
  hash = Math.imul(hash ^ 0xffff, 0x01000193);
  const fold = !byDedupKey;
  for (let index = 0; index < value.length; index++) {
    let unit = value.charCodeAt(index);
    if (fold && unit >= 0x61 && unit <= 0x66) unit -= 0x20;
    hash = Math.imul(hash ^ unit, 0x01000193);
  }
  return fmix32(hash);
}

/** `fingerprintFrom` of the text in bytes[start, end); -1 when a byte is not ASCII (decode it and hash the string). */
export function fingerprintOfBytes(seed: number, bytes: Uint8Array, start: number, end: number, fold: boolean): number {
  let hash = seed;
  for (let index = start; index < end; index++) {
    let unit = bytes[index]!;
    if (unit >= 0x80) return -1;
    if (fold && unit >= 0x61 && unit <= 0x66) unit -= 0x20;
    hash = Math.imul(hash ^ unit, 0x01000193);
  }
  return fmix32(hash);
}
