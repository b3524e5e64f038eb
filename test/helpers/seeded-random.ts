/**
 * A seeded PRNG (mulberry32) so randomized tests replay: the seed comes from env SEED or is
 * drawn, and tests print it when they fail.
 */

export interface SeededRandom {
  readonly seed: number;
  next(): number;
  int(maxExclusive: number): number;
  bytes(length: number): Uint8Array;
}

export function seededRandom(seed = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31))): SeededRandom {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    seed,
    next,
    int: (maxExclusive) => Math.floor(next() * maxExclusive),
    bytes: (length) => {
      const out = new Uint8Array(length);
      for (let index = 0; index < length; index++) out[index] = Math.floor(next() * 256);
      return out;
    },
  };
}

/** Runs `body` with a seeded random source; on failure prints the seed to replay with `SEED=`. */
export function withSeed(body: (random: SeededRandom) => void): void {
  const random = seededRandom();
  try {
    body(random);
  } catch (error) {
    console.error(`Failed with seed ${random.seed}: replay with SEED=${random.seed}`);
    throw error;
  }
}

/** `withSeed` for async bodies. */
export async function withSeedAsync(body: (random: SeededRandom) => Promise<void>): Promise<void> {
  const random = seededRandom();
  try {
    await body(random);
  } catch (error) {
    console.error(`Failed with seed ${random.seed}: replay with SEED=${random.seed}`);
    throw error;
  }
}
