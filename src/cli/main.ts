#!/usr/bin/env bun
/**
 * The `mq` command line. cac matches only a command's first word, so a small router hands each
 * noun (`start`, later `topic`, `group`, ...) its own cac instance. An unknown command is an
 * error, not a silent exit 0; errors print the catalogue message and exit non-zero.
 */

import { errorCatalog, MqError } from "../common/errors.ts";
import { mqVersion } from "../version.ts";
import { benchCommand } from "./bench-command.ts";
import { clusterCommand } from "./cluster-command.ts";
import { consumeCommand } from "./consume-command.ts";
import { dlqCommand } from "./dlq-command.ts";
import { groupCommand } from "./group-command.ts";
import { messageCommand } from "./message-command.ts";
import { sendCommand } from "./send-command.ts";
import { startCommand } from "./start-command.ts";
import { topicCommand } from "./topic-command.ts";
import { txCommand } from "./tx-command.ts";

export interface CliCommand {
  name: string;
  summary: string;
  run(argv: string[]): Promise<number>;
}

const commands: CliCommand[] = [startCommand, topicCommand, sendCommand, consumeCommand, groupCommand, dlqCommand, txCommand, messageCommand, clusterCommand, benchCommand];

function printHelp(): void {
  console.log(`mq ${mqVersion} — a message queue in one executable\n\nUsage: mq <command> [options]\n\nCommands:`);
  for (const command of commands) console.log(`  ${command.name.padEnd(10)} ${command.summary}`);
  console.log(`\nRun "mq <command> --help" for a command's options.`);
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    printHelp();
    return name === undefined ? 1 : 0;
  }
  if (name === "--version" || name === "-v" || name === "version") {
    console.log(mqVersion);
    return 0;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (command === undefined) {
    console.error(`Unknown command "${name}": run "mq --help" for the list of commands`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof MqError) {
      console.error(`Error ${error.code} ${error.errorName}: ${error.message}`);
      return 1;
    }
    // A system error that escaped (a file or socket refused) is reported like a catalogue one: a
    // stack trace tells a user nothing. Anything else is a bug, and its stack is what a report needs.
    const systemCode = (error as NodeJS.ErrnoException | undefined)?.code;
    if (error instanceof Error && typeof systemCode === "string" && /^E[A-Z]+$/.test(systemCode)) {
      console.error(`Error ${errorCatalog.STORE_IO.code} STORE_IO: ${error.message}`);
      return 1;
    }
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    return 1;
  }
}

if (import.meta.main) {
  // No top-level await: the compiled binary's bytecode format does not allow it.
  void main(process.argv.slice(2)).then((code) => {
    if (code !== 0) process.exit(code);
  });
}
