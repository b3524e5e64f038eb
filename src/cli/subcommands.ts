/**
 * cac matches only a command's first word, so `mq topic create` goes through here: the router
 * hands the noun's remaining words to a cac instance of its own, with the global options
 * (`--broker`, `--namesrv`, `--json`) on every one. A missing or unknown subcommand and an
 * unknown option are errors (exit 2), never a silent exit 0.
 */

import cac from "cac";
import type { CAC } from "cac";
import type { CliCommand } from "./main.ts";

export type Action = (...args: never[]) => Promise<number | void> | number | void;

/**
 * cac (through mri) turns any value that looks like a number into one: `0042` becomes 42,
 * `+1` becomes 1 and digits past 2^53 are lost. Ids, keys and offsets must stay as typed, so
 * every value mri would coerce is marked before parsing and unmarked after; commands convert
 * numbers themselves. A lone `-` (stdin, as in `mq send T -`) is marked too: mri would read it as
 * an option with an empty name and swallow the next word.
 */
const digitMark = "\u0001";

/** mri's own test for "turn this into a number". */
function looksNumeric(value: string): boolean {
  const number = +value;
  return number * 0 === 0;
}

export function protectDigits(token: string): string {
  // A negative number (`--port -1`) is a value too: unmarked, mri reads it as the flag "-1".
  if (token === "-" || looksNumeric(token)) return digitMark + token;
  const equals = token.indexOf("=");
  if (token.startsWith("--") && equals > 2 && looksNumeric(token.slice(equals + 1))) return `${token.slice(0, equals + 1)}${digitMark}${token.slice(equals + 1)}`;
  return token;
}

export function restoreDigits(value: unknown): unknown {
  if (typeof value === "string") return value.startsWith(digitMark) ? value.slice(1) : value;
  if (Array.isArray(value)) return value.map(restoreDigits);
  return value;
}

export function addClientOptions(cli: CAC): void {
  cli.option("--broker <address>", "Broker address host:port (default 127.0.0.1:10911, env MQ_BROKER)", { type: [String] });
  cli.option("--namesrv <address>", "NameServer addresses host:port[;host:port]: route through the cluster (env MQ_NAMESRV)", { type: [String] });
  cli.option("--json", "Print JSON instead of a table");
}

export function nounCommand(options: { name: string; summary: string; define: (cli: CAC) => void }): CliCommand {
  return {
    name: options.name,
    summary: options.summary,
    async run(argv) {
      const cli = cac(`mq ${options.name}`);
      addClientOptions(cli);
      options.define(cli);
      cli.help();
      // A noun with one verb (`mq send TOPIC BODY`) defines a default command: its words are arguments.
      let parsed: ReturnType<CAC["parse"]>;
      try {
        parsed = cli.parse(["mq", options.name, ...argv.map(protectDigits)], { run: false });
        cli.args = cli.args.map((value) => restoreDigits(value) as string);
        for (const key of Object.keys(cli.options)) cli.options[key] = restoreDigits(cli.options[key]);
      } catch (error) {
        console.error(`${(error as Error).message}: run "mq ${options.name} --help"`);
        return 2;
      }
      if (parsed.options.help) return 0;
      if (cli.matchedCommand === undefined) {
        if (argv.length === 0 || argv[0]!.startsWith("-")) {
          cli.outputHelp();
          return 2;
        }
        console.error(`Unknown command "mq ${options.name} ${argv[0]}": run "mq ${options.name} --help"`);
        return 2;
      }
      try {
        const result = await cli.runMatchedCommand();
        return typeof result === "number" ? result : 0;
      } catch (error) {
        if (error instanceof Error && error.name === "CACError") {
          console.error(`${error.message}: run "mq ${options.name} --help"`);
          return 2;
        }
        throw error;
      }
    },
  };
}
