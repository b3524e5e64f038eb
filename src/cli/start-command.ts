/**
 * `mq start`: runs the roles in this process until SIGINT/SIGTERM, then shuts down cleanly
 * (flush, checkpoint, remove the abort marker).
 */

import cac from "cac";
import { loadConfig } from "../config/load-config.ts";
import { createLogger } from "../common/logger.ts";
import { startServer } from "../server.ts";
import type { CliCommand } from "./main.ts";

function parseStartFlags(argv: string[]) {
  const cli = cac("mq start");
  cli
    .option("--role <roles>", "Roles to run: all, or a comma list of namesrv, broker, http", { type: [String] })
    .option("--data <dir>", "Data directory (default ./data)", { type: [String] })
    .option("--port <port>", "Main TCP port (default 10911)", { type: [String] })
    .option("--http-port <port>", "Admin HTTP port (default 8080)", { type: [String] })
    .option("--listen <address>", "Address to listen on (default 0.0.0.0)", { type: [String] })
    .option("--advertise <address>", "Address clients should use to reach this process", { type: [String] })
    .option("--flush <mode>", "Flush mode: async (default) or sync", { type: [String] })
    .option("--config <file>", "Configuration file (YAML or TOML)", { type: [String] })
    .help();
  const parsed = cli.parse(["mq", "start", ...argv], { run: false });
  if (parsed.options.help) return undefined;
  const unknown = Object.keys(parsed.options).filter((key) => !["--", "role", "data", "port", "httpPort", "listen", "advertise", "flush", "config", "help"].includes(key));
  if (unknown.length > 0) throw new Error(`Unknown option "--${unknown[0]}" for "mq start": run "mq start --help"`);
  const last = (value: unknown) => (Array.isArray(value) ? value[value.length - 1] : value) as string | undefined;
  return {
    configFile: last(parsed.options.config),
    flags: {
      role: last(parsed.options.role),
      dataDir: last(parsed.options.data),
      port: last(parsed.options.port),
      httpPort: last(parsed.options.httpPort),
      listen: last(parsed.options.listen),
      advertise: last(parsed.options.advertise),
      flush: last(parsed.options.flush),
    },
  };
}

export const startCommand: CliCommand = {
  name: "start",
  summary: "Start mq (all roles in one process by default)",
  async run(argv) {
    const flags = parseStartFlags(argv);
    if (flags === undefined) return 0;
    const config = loadConfig({ file: flags.configFile ?? process.env.MQ_CONFIG, env: process.env, flags: flags.flags });
    const logger = createLogger({ level: config.logLevel });
    // Signals are caught before start-up begins: one that arrives during a long recovery waits
    // for it to finish and then shuts down cleanly, instead of killing the process mid-way.
    let stopRequested: ((signal: string) => void) | undefined;
    const stopSignal = new Promise<string>((resolve) => {
      stopRequested = resolve;
    });
    const onSignal = (signal: string) => stopRequested?.(signal);
    process.once("SIGINT", () => onSignal("SIGINT"));
    process.once("SIGTERM", () => onSignal("SIGTERM"));
    const server = await startServer(config, logger);
    logger.info(`mq ready in ${server.startedInMs.toFixed(0)} ms: data in ${config.dataDir}, HTTP on ${config.listen}:${server.httpPort} (/health, /ready)`);
    const signal = await stopSignal;
    logger.info(`Received ${signal}: shutting down`);
    try {
      await server.stop();
    } catch (error) {
      logger.error(`Shutdown failed: ${(error as Error).message}`);
      return 1;
    }
    return 0;
  },
};
