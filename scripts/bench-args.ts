/** Command-line flags of the benchmark scripts: `--name=value`, positive integers checked. */

const argv = process.argv.slice(2);

export function hasFlag(name: string): boolean {
  return argv.includes(`--${name}`);
}

/** The value of `--name=value`, else (with `env`) of the environment variable BENCH_<NAME>. */
export function flagValue(name: string, options: { env?: boolean } = {}): string | undefined {
  const prefix = `--${name}=`;
  return argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length) ?? (options.env ? process.env[`BENCH_${name.toUpperCase()}`] : undefined);
}

export function intFlag(name: string, fallback: number, options: { env?: boolean } = {}): number {
  const raw = flagValue(name, options);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`--${name} is "${raw}": expected a positive integer`);
  return value;
}
