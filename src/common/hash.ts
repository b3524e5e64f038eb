/**
 * FNV-1a, 32-bit, over a string's UTF-16 code units: a small, stable hash that every client
 * (and every language) computes the same way, for sharding keys and the consistent-hash ring.
 * Not for security. The final avalanche (murmur3's fmix32) spreads nearby keys like "k1", "k2".
 */

export function hash32(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return fmix32(hash);
}

/** murmur3's final avalanche: every input bit flips about half the output bits, so nearby values spread. */
export function fmix32(value: number): number {
  let hash = value;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
