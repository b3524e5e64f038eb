/**
 * Runs one `mq` command in this process, as the CLI would: its exit code and what it printed to
 * stdout and stderr. A thrown error counts as exit 1 with its message on stderr.
 */

import type { CliCommand } from "../../src/cli/main.ts";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(command: CliCommand, argv: string[]): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const write = process.stdout.write.bind(process.stdout);
  const error = console.error;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
    return true;
  }) as typeof process.stdout.write;
  console.error = (...parts: unknown[]) => void (stderr += parts.join(" ") + "\n");
  try {
    const code = await command.run(argv).catch((thrown: unknown) => {
      stderr += `${(thrown as Error).message}\n`;
      return 1;
    });
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = write;
    console.error = error;
  }
}
