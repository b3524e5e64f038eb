/**
 * `mq start`: runs the roles in this process until SIGINT/SIGTERM, then shuts down cleanly
 * (flush, checkpoint, remove the abort marker).
 */

import cac from "cac";
import { MqError } from "../common/errors.ts";
import { formatHostPort } from "../common/ip-address.ts";
import { loadConfig } from "../config/load-config.ts";
import { createLogger } from "../common/logger.ts";
import { startServer } from "../server.ts";
import type { CliCommand } from "./main.ts";
import type { MqConfig } from "../config/config-schema.ts";
import type { RunningServer } from "../server.ts";
import { protectDigits, restoreDigits } from "./subcommands.ts";

const knownFlags = ["--", "role", "data", "port", "namesrvPort", "haPort", "httpPort", "namesrv", "broker", "cluster", "brokerName", "brokerId", "listen", "advertise", "flush", "commitLogFileBytes", "config", "help"];

function parseStartFlags(argv: string[]) {
  const cli = cac("mq start");
  cli
    .option("--role <roles>", "Roles to run: all, or a comma list of namesrv, broker, http", { type: [String] })
    .option("--data <dir>", "Data directory (default ./data)", { type: [String] })
    .option("--port <port>", "Main TCP port of the role started: the broker's (default 10911), or the NameServer's when it runs alone (default 9876)", { type: [String] })
    .option("--namesrv-port <port>", "NameServer port beside a broker (default 9876)", { type: [String] })
    .option("--ha-port <port>", "HA replication port, advertised to NameServers (default 10912)", { type: [String] })
    .option("--http-port <port>", "Admin HTTP port (default 8080)", { type: [String] })
    .option("--namesrv <addresses>", "NameServers to register with: host:port[;host:port]; with --role http and no local broker, the cluster the REST API serves", { type: [String] })
    .option("--broker <address>", "With --role http and no local broker or NameServer: the one broker the REST API serves, host:port", { type: [String] })
    .option("--cluster <name>", "Cluster name (default DefaultCluster)", { type: [String] })
    .option("--broker-name <name>", "Broker group name (default broker-a)", { type: [String] })
    .option("--broker-id <id>", "0 for the master of its group, 1.. for slaves (default 0)", { type: [String] })
    .option("--listen <address>", "Address to listen on (default 127.0.0.1 in role all, else 0.0.0.0)", { type: [String] })
    .option("--advertise <address>", "Address clients reach this broker at, put in message ids: an IPv4 or IPv6 address, or a host name resolved at start (default: the listen address, or the host's first external IPv4)", { type: [String] })
    .option("--flush <mode>", "Flush mode: async (default) or sync", { type: [String] })
    .option("--commit-log-file-bytes <bytes>", "CommitLog file size (default 64 MiB in role all, else 1 GiB)", { type: [String] })
    .option("--config <file>", "Configuration file (YAML or TOML)", { type: [String] })
    .help();
  // Marked like every other command's words, so `--data 0042` stays "0042" (mri would make it 42).
  let parsed: ReturnType<typeof cli.parse>;
  try {
    parsed = cli.parse(["mq", "start", ...argv.map(protectDigits)], { run: false });
  } catch (error) {
    throw new MqError("INVALID_CONFIG", { key: "command line", reason: `${(error as Error).message} (run "mq start --help")` });
  }
  if (parsed.options.help) return undefined;
  const unknown = Object.keys(parsed.options).filter((key) => !knownFlags.includes(key));
  if (unknown.length > 0) throw new MqError("INVALID_CONFIG", { key: `option "--${kebab(unknown[0]!)}"`, reason: 'is not an option of "mq start" (run "mq start --help")' });
  if (parsed.args.length > 0) throw new MqError("INVALID_CONFIG", { key: `argument "${restoreDigits(parsed.args[0])}"`, reason: '"mq start" takes options only (run "mq start --help")' });
  const last = (value: unknown) => restoreDigits(Array.isArray(value) ? value[value.length - 1] : value) as string | undefined;
  return {
    configFile: last(parsed.options.config),
    flags: {
      role: last(parsed.options.role),
      dataDir: last(parsed.options.data),
      port: last(parsed.options.port),
      namesrvPort: last(parsed.options.namesrvPort),
      haPort: last(parsed.options.haPort),
      httpPort: last(parsed.options.httpPort),
      namesrv: last(parsed.options.namesrv),
      broker: last(parsed.options.broker),
      clusterName: last(parsed.options.cluster),
      brokerName: last(parsed.options.brokerName),
      brokerId: last(parsed.options.brokerId),
      listen: last(parsed.options.listen),
      advertise: last(parsed.options.advertise),
      flush: last(parsed.options.flush),
      commitLogFileBytes: last(parsed.options.commitLogFileBytes),
    },
  };
}

/** cac hands options over camelCased; messages name them as typed. */
function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
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
    logger.info(`mq ready in ${server.startedInMs.toFixed(0)} ms: ${describeRunning(server, config)}`);
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

/** One line naming what runs where, e.g. "NameServer on 0.0.0.0:9876, broker broker-a at 10.0.0.5:10911, ...". */
function describeRunning(server: RunningServer, config: MqConfig): string {
  const parts: string[] = [];
  if (server.namesrvPort !== undefined) parts.push(`NameServer on ${formatHostPort(config.listen, server.namesrvPort)}`);
  if (server.brokerAddr !== undefined) {
    const namesrvs = server.broker?.registrar?.status().map((link) => link.name) ?? [];
    parts.push(`broker "${config.brokerName}" (id ${config.brokerId}, cluster "${config.clusterName}") at ${server.brokerAddr}, data in ${config.dataDir}` + (namesrvs.length > 0 ? `, registering with ${namesrvs.join(", ")}` : ""));
  }
  if (server.httpPort !== undefined) parts.push(`HTTP on ${formatHostPort(config.listen, server.httpPort)} (/health, /ready)`);
  return parts.join("; ");
}
