/**
 * A seeded PRNG for property and fuzz tests (mulberry32). The seed comes from env SEED when set,
 * else from the time; `withSeed` prints it when the body fails so the run can be replayed.
 */

export interface Random {
  readonly seed: number;
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, bound). */
  int(bound: number): number;
  bytes(length: number): Uint8Array;
}

export function createRandom(seed: number): Random {
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
    int: (bound) => Math.floor(next() * bound),
    bytes(length) {
      const out = new Uint8Array(length);
      for (let index = 0; index < length; index++) out[index] = Math.floor(next() * 256);
      return out;
    },
  };
}

export function seedFromEnv(): number {
  const fromEnv = process.env.SEED;
  return fromEnv !== undefined && fromEnv !== "" ? Number(fromEnv) >>> 0 : (Date.now() ^ (Math.random() * 2 ** 32)) >>> 0;
}

/** Runs `body` with a seeded Random; on failure prints the seed to replay with `SEED=<seed>`. */
export function withSeed(body: (random: Random) => void): void {
  const seed = seedFromEnv();
  try {
    body(createRandom(seed));
  } catch (error) {
    console.error(`Failed with seed ${seed}: replay with SEED=${seed}`);
    throw error;
  }
}

/** `withSeed` for async bodies. */
export async function withSeedAsync(body: (random: Random) => Promise<void>): Promise<void> {
  const seed = seedFromEnv();
  try {
    await body(createRandom(seed));
  } catch (error) {
    console.error(`Failed with seed ${seed}: replay with SEED=${seed}`);
    throw error;
  }
}
