/**
 * Wires the roles of `mq start` together in one process (DESIGN.md §2): the NameServer on its
 * port, the store and the broker on the main TCP port, and the admin HTTP app. `--role all`
 * (the default) runs every module; otherwise any comma list of namesrv, broker, http.
 *
 * Co-located modules talk through one in-process event bus: the broker registers with a local
 * NameServer by bus event (no serialization, no TCP hop) and with any `--namesrv` address over
 * TCP. The local NameServer still listens on its port, for clients outside the process.
 *
 * HTTP without a broker in the process serves the REST API for brokers elsewhere through the
 * SDK (http/sdk-backend.ts): the cluster of the local NameServer or of `--namesrv`, else the one
 * broker of `--broker`. With none of them its API answers 503 and it keeps its store probes.
 *
 * Start order: HTTP probes → store (recovery) → NameServer → broker → the full HTTP app. The
 * probes come first so `/health` answers during a long recovery and `/ready` shows its progress
 * (http/probe-server.ts); the full app takes their server over, so the port never closes.
 * The broker's first registration
 * finds the local NameServer, and a data dir locked by another process is reported before any
 * port is taken beyond the broker's. Shutdown runs in reverse: HTTP, the broker (unregistered,
 * held pulls answered, connections closed, offsets written), the store (flush, checkpoint), the
 * NameServer last so the local broker's unregistration reaches it.
 */

import { lookup } from "node:dns/promises";
import { networkInterfaces } from "node:os";
import { resolve } from "node:path";
import { unreachable } from "./common/assert.ts";
import { EventBus } from "./common/bus.ts";
import { systemClock } from "./common/clock.ts";
import { isMqError, MqError } from "./common/errors.ts";
import { formatHostPort, isHostName, parseIpAddress } from "./common/ip-address.ts";
import { createLogger, type Logger } from "./common/logger.ts";
import { type MqConfig, rolesOf } from "./config/config-schema.ts";
import { Broker } from "./broker/broker.ts";
import { InProcessNamesrvLink, type NamesrvLink } from "./broker/namesrv-link.ts";
import { TcpNamesrvLink } from "./broker/tcp-namesrv-link.ts";
import type { ReadinessCheck } from "./http/app.ts";
import { SdkBackend } from "./http/sdk-backend.ts";
import { type ProbeServer, startProbeServer } from "./http/probe-server.ts";
import { type RunningHttp, startHttp } from "./http/start-http.ts";
import { NameServer } from "./namesrv/name-server.ts";
import { Server } from "./net/server.ts";
import type { NamesrvBusEvents } from "./protocol/broker-registration.ts";
import { MessageStore } from "./store/message-store.ts";
import type { StoreEvents } from "./store/store-options.ts";
import type { BrokerEvents } from "./broker/broker-events.ts";
import { newRecoveryProgress, type RecoveryProgress } from "./store/store-recovery.ts";
import { mqVersion } from "./version.ts";

/** Everything published on the process bus. */
export type ProcessEvents = StoreEvents & BrokerEvents & NamesrvBusEvents;

export interface RunningServer {
  /** Undefined when no role needs it (a NameServer alone). */
  readonly store: MessageStore | undefined;
  readonly broker: Broker | undefined;
  readonly nameServer: NameServer | undefined;
  /** The HTTP port bound; undefined without the http role. */
  readonly httpPort: number | undefined;
  /** The broker's bound TCP port (the real one when configured as 0); undefined without the role. */
  readonly brokerPort: number | undefined;
  /** The NameServer's bound TCP port; undefined without the role. */
  readonly namesrvPort: number | undefined;
  /** "host:port" the broker registers and puts in offsetMsgIds; undefined without the role. */
  readonly brokerAddr: string | undefined;
  readonly startedInMs: number;
  stop(): Promise<void>;
}

export async function startServer(config: MqConfig, logger: Logger = createLogger({ level: config.logLevel })): Promise<RunningServer> {
  const startMs = performance.now();
  const roles = rolesOf(config.role);
  const bus = new EventBus<ProcessEvents>((name, error) => logger.error(`Listener of "${name}" failed: ${String(error)}`));
  // A NameServer and HTTP without a broker have no store; HTTP alone with nothing to front keeps its store probes.
  const frontsRemote = roles.http && !roles.broker && (roles.namesrv || config.namesrv.length > 0 || config.broker !== undefined);
  const needsStore = roles.broker || (roles.http && !roles.namesrv && !frontsRemote);
  const host = roles.broker ? await advertisedHost(config, logger) : undefined;
  const cleanups: (() => Promise<void>)[] = [];
  const stopStarted = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  let store: MessageStore | undefined;
  let nameServer: NameServer | undefined;
  let broker: Broker | undefined;
  let http: RunningHttp | undefined;
  let brokerServer: Awaited<ReturnType<typeof listen>> | undefined;
  let probes: ProbeServer | undefined;
  const recoveryProgress = newRecoveryProgress();
  try {
    if (roles.http) {
      probes = withFlagHint("--http-port", () => startProbeServer({ hostname: config.listen, port: config.httpPort, version: mqVersion, readiness: () => readiness({ store, broker, nameServer, recoveryProgress, needsStore }) }));
      const started = probes;
      cleanups.push(() => (http === undefined ? started.stop() : Promise.resolve()));
    }
    // On a random port (tests, sandboxes) bind first, so records carry the real port as their
    // store host; on a fixed port open the store first, so no client is answered during recovery.
    brokerServer = roles.broker && config.port === 0 ? await listen(config.listen, config.port, logger, "--port") : undefined;
    const boundEarly = brokerServer;
    if (boundEarly !== undefined) cleanups.push(() => boundEarly.close());
    if (needsStore) {
      const opened = await openStore(config, bus, logger, { storeHost: { ip: recordStoreHost(host), port: brokerServer?.port ?? config.port }, recoveryProgress });
      store = opened;
      cleanups.push(() => opened.close());
    }
    if (roles.namesrv) {
      const namesrvServer = await listen(config.listen, config.namesrvPort, logger, roles.broker ? "--namesrv-port" : "--port");
      // The bus only matters to a co-located broker; without one the NameServer serves TCP alone.
      const started = NameServer.start({ server: namesrvServer, ...(roles.broker ? { bus } : {}), scanIntervalMs: config.namesrvScanIntervalMs, brokerExpiryMs: config.brokerExpiryMs, logger: logger.child("namesrv") });
      nameServer = started;
      cleanups.push(() => started.stop());
    }
    if (roles.broker) {
      if (brokerServer === undefined) {
        const opened = await listen(config.listen, config.port, logger, "--port");
        brokerServer = opened;
        cleanups.push(() => opened.close());
      }
      const started = await startBroker(config, { store: store!, server: brokerServer, host: host!, bus: nameServer === undefined ? undefined : bus, logger });
      broker = started;
      cleanups.push(() => started.stop());
    }
    if (roles.http) {
      const parts = { store, broker, nameServer, recoveryProgress, needsStore };
      const server = brokerServer;
      http = startHttpRole(config, { parts, probes, host, frontsRemote, connections: () => server?.connections.size ?? 0, logger });
    }
  } catch (error) {
    await stopStarted();
    throw error;
  }
  const started = http;
  return runningServer({ store, broker, nameServer, http, host, startedInMs: performance.now() - startMs }, async () => {
    await started?.stop();
    await stopStarted();
  });
}

/** What `startServer` hands back; `stop` runs `stopAll` once, however often it is called. */
function runningServer(
  parts: { store: MessageStore | undefined; broker: Broker | undefined; nameServer: NameServer | undefined; http: RunningHttp | undefined; host: string | undefined; startedInMs: number },
  stopAll: () => Promise<void>,
): RunningServer {
  const { store, broker, nameServer, http, host } = parts;
  let stopping: Promise<void> | undefined;
  return {
    store,
    broker,
    nameServer,
    httpPort: http?.port,
    brokerPort: broker?.port,
    namesrvPort: nameServer?.port,
    brokerAddr: broker === undefined || host === undefined ? undefined : formatHostPort(host, broker.port),
    startedInMs: parts.startedInMs,
    stop() {
      stopping ??= stopAll();
      return stopping;
    },
  };
}

/** The REST API, on the probe server's port: in front of this process's broker, or of a remote cluster through the SDK. */
function startHttpRole(config: MqConfig, context: { parts: ReadinessParts; probes: ProbeServer | undefined; host: string | undefined; frontsRemote: boolean; connections: () => number; logger: Logger }): RunningHttp {
  const { parts, host } = context;
  const { broker, nameServer } = parts;
  const backend = context.frontsRemote ? remoteBackend(config, nameServer, context.logger) : undefined;
  // startHttp throws LISTEN_FAILED itself (and closes the backend).
  return withFlagHint("--http-port", () => startHttp({
    hostname: config.listen,
    port: config.httpPort,
    probes: context.probes,
    version: mqVersion,
    readiness: () => [...readiness(parts), ...(backend === undefined ? [] : [{ name: "backend", ok: true, detail: `serving the REST API for ${backend.target}` }])],
    broker: broker?.context,
    backend,
    identity: { clusterName: config.clusterName, brokerName: config.brokerName, brokerId: config.brokerId, ...(config.haPort === 0 || host === undefined ? {} : { haAddr: formatHostPort(host, config.haPort) }) },
    registrationAgeMs: () => broker?.registrar?.lastRegistrationAgeMs(),
    ...(nameServer === undefined ? {} : { cluster: () => nameServer.table.clusterInfo() }),
    connections: context.connections,
    readOnly: config.consoleReadOnly,
    nameServers: () => [...new Set([...(nameServer === undefined ? [] : [formatHostPort(host ?? config.listen, nameServer.port)]), ...config.namesrv])],
  }));
}

/** The broker on its bound server, registering with the NameServers (`bus`: a co-located one). */
function startBroker(config: MqConfig, parts: { store: MessageStore; server: Awaited<ReturnType<typeof listen>>; host: string; bus: EventBus<ProcessEvents> | undefined; logger: Logger }): Promise<Broker> {
  const { store, server, host, bus, logger } = parts;
  return Broker.start({
    store,
    server,
    config,
    advertisedHost: host,
    registration: {
      identity: {
        clusterName: config.clusterName,
        brokerName: config.brokerName,
        brokerId: config.brokerId,
        brokerAddr: formatHostPort(host, server.port),
        ...(config.haPort === 0 ? {} : { haAddr: formatHostPort(host, config.haPort) }),
        version: mqVersion,
      },
      links: namesrvLinks(config, { bus, host, logger }),
      heartbeatIntervalMs: config.brokerHeartbeatIntervalMs,
    },
    logger: logger.child("broker"),
  });
}

function openStore(config: MqConfig, bus: EventBus<ProcessEvents>, logger: Logger, context: { storeHost: { ip: string; port: number }; recoveryProgress: RecoveryProgress }): Promise<MessageStore> {
  return MessageStore.open({
    dataDir: resolve(config.dataDir),
    flush: config.flush,
    flushIntervalMs: config.flushIntervalMs,
    commitLogFileBytes: config.commitLogFileBytes,
    consumeQueueEntriesPerFile: config.consumeQueueEntriesPerFile,
    indexSlotsPerFile: config.indexSlotsPerFile,
    indexEntriesPerFile: config.indexEntriesPerFile,
    fileReservedTimeHours: config.fileReservedTimeHours,
    deleteWhenHour: config.deleteWhenHour,
    diskMaxUsedSpaceRatio: config.diskMaxUsedSpaceRatio,
    diskFullRatio: config.diskFullRatio,
    storeHost: context.storeHost,
    logger: logger.child("store"),
    bus,
    recoveryProgress: context.recoveryProgress,
    recoveryStepPauseMs: config.recoveryStepPauseMs ?? 0,
    // A broker serves timers: no CommitLog file goes before it knows which hold pending ones.
    holdRetentionForTimers: rolesOf(config.role).broker,
  });
}

/**
 * The local NameServer in-process (when one runs here) and every `--namesrv` address over TCP —
 * except addresses that are the local NameServer itself: the broker never dials its own process.
 */
function namesrvLinks(config: MqConfig, context: { bus: EventBus<ProcessEvents> | undefined; host: string; logger: Logger }): NamesrvLink[] {
  const links: NamesrvLink[] = [];
  const self = new Set<string>();
  if (context.bus !== undefined) {
    links.push(new InProcessNamesrvLink(context.bus));
    for (const name of ["127.0.0.1", "localhost", config.listen, context.host]) self.add(formatHostPort(name, config.namesrvPort));
  }
  for (const address of new Set(config.namesrv)) {
    if (self.has(address)) {
      context.logger.info(`NameServer ${address} runs in this process: registering in-process instead of over TCP`);
      continue;
    }
    links.push(new TcpNamesrvLink({ address, clock: systemClock, logger: context.logger.child("registrar") }));
  }
  return links;
}

/** The SDK backend of HTTP without a local broker: the local NameServer, else --namesrv, else --broker. */
function remoteBackend(config: MqConfig, nameServer: NameServer | undefined, logger: Logger): SdkBackend {
  const localNamesrv = nameServer === undefined ? undefined : `${config.listen === "0.0.0.0" || config.listen === "::" ? "127.0.0.1" : config.listen}:${nameServer.port}`;
  const namesrv = localNamesrv ?? (config.namesrv.length > 0 ? config.namesrv.join(";") : undefined);
  const backend = new SdkBackend({ ...(namesrv === undefined ? { broker: config.broker } : { namesrv }), defaultTopicQueues: config.defaultTopicQueues, logger: logger.child("http") });
  logger.info(`REST API serves ${backend.target} through the client SDK: no broker runs in this process`);
  return backend;
}

interface ReadinessParts {
  store: MessageStore | undefined;
  broker: Broker | undefined;
  nameServer: NameServer | undefined;
  recoveryProgress: RecoveryProgress;
  needsStore: boolean;
}

function readiness(parts: ReadinessParts): ReadinessCheck[] {
  const { store, broker, nameServer } = parts;
  const checks: ReadinessCheck[] = [];
  if (store === undefined && parts.needsStore) checks.push({ name: "store", ok: false, detail: recoveringDetail(parts.recoveryProgress) });
  if (store !== undefined) checks.push(...storeChecks(store));
  if (broker !== undefined) {
    checks.push({ name: "broker", ok: true, detail: `serving on port ${broker.port}` });
    const registrar = broker.registrar;
    if (registrar !== undefined) {
      const status = registrar.status();
      const registered = status.filter((link) => link.registered).map((link) => link.name);
      checks.push({
        name: "registration",
        ok: registered.length > 0,
        detail: registered.length > 0 ? `registered with ${registered.length} of ${status.length} NameServers (${registered.join(", ")})` : `not registered with any of ${status.map((link) => link.name).join(", ")}`,
      });
    }
  }
  if (nameServer !== undefined) {
    checks.push({ name: "namesrv", ok: true, detail: `serving on port ${nameServer.port}: ${nameServer.table.brokerCount} brokers` });
  }
  return checks;
}

function recoveringDetail(progress: RecoveryProgress): string {
  switch (progress.phase) {
    case "waiting":
      return "opening the data dir";
    case "verifying":
      return `recovering: verified ${progress.bytesVerified} of ${progress.bytesTotal} bytes of CommitLog`;
    case "replaying":
      return `recovering: verified ${progress.bytesTotal} of ${progress.bytesTotal} bytes of CommitLog, rebuilding consume queues and index`;
    case "done":
      return "recovered, starting";
    default:
      return unreachable(progress.phase);
  }
}

function storeChecks(store: MessageStore): ReadinessCheck[] {
  const recovery = store.recovery;
  const dropped = recovery.dropped.length === 0 ? "" : `; dropped ${recovery.dropped.length} damaged CommitLog ranges (${recovery.droppedBytes} bytes at offsets ${recovery.dropped.map((range) => range.offset).join(", ")})`;
  const flush = store.options.storage.flushHealth();
  return [
    { name: "store", ok: store.isOpen, detail: store.isOpen ? `recovered in ${recovery.durationMs.toFixed(0)} ms${dropped}` : "closed" },
    { name: "flush", ok: flush.ok, detail: flush.ok ? "flushes complete" : `flushes failing: ${flush.failure} (a new flush thread takes the next flush)` },
    {
      name: "disk",
      ok: !store.retention.diskFull,
      detail: `${Math.round(store.retention.usedRatio * 100)}% used as df counts, ${Math.round(store.retention.usedRatioCountingReserved * 100)}% counting blocks reserved for root; sends refused from ${Math.round(store.options.diskFullRatio * 100)}%`,
    },
  ];
}

/** `flag` is the option that changes this port: a busy port's message names it. */
async function listen(host: string, port: number, logger: Logger, flag: string): Promise<Server> {
  try {
    return await Server.listen({ host, port, logger: logger.child("net") });
  } catch (error) {
    const reason = (error as Error).message.replace(/^Cannot connect to \S+: /, "");
    throw new MqError("LISTEN_FAILED", { address: formatHostPort(host, port), reason: withListenHint(reason, flag) });
  }
}

/** A bind failure's reason with the flag that fixes it: the port's when it is taken, --listen when the address is not this host's. */
function withListenHint(reason: string, portFlag: string): string {
  if (/EADDRINUSE|in use/i.test(reason)) return `${reason} (choose another port with ${portFlag})`;
  if (/EADDRNOTAVAIL|not available|cannot assign/i.test(reason)) return `${reason} (--listen must be an address of this host, or 0.0.0.0)`;
  return reason;
}

function withFlagHint<T>(flag: string, start: () => T): T {
  try {
    return start();
  } catch (error) {
    if (!isMqError(error, "LISTEN_FAILED")) throw error;
    throw new MqError("LISTEN_FAILED", { ...error.params, reason: withListenHint(String(error.params.reason), flag) });
  }
}

/**
 * The address clients reach this broker at, as an IP literal (it goes into every offsetMsgId):
 * --advertise; else the listen address unless it is a wildcard; else the host's first
 * non-internal IPv4 (what another machine can dial), falling back to loopback. A host name is
 * resolved once, here; one that is malformed or does not resolve stops start-up. Containers and
 * multi-homed hosts should pass --advertise.
 */
export async function advertisedHost(config: Pick<MqConfig, "advertise" | "listen">, logger: Logger): Promise<string> {
  if (config.advertise !== undefined) return resolveHost("advertise", config.advertise, logger);
  if (config.listen !== "0.0.0.0" && config.listen !== "::") return resolveHost("listen", config.listen, logger);
  const candidates = Object.entries(networkInterfaces()).flatMap(([name, addresses]) =>
    (addresses ?? []).filter((address) => address.family === "IPv4" && !address.internal).map((address) => ({ name, address: address.address })),
  );
  const chosen = candidates[0];
  if (chosen === undefined) {
    logger.info(`Advertising 127.0.0.1 to clients: listening on ${config.listen} and the host has no external IPv4 address (set --advertise)`);
    return "127.0.0.1";
  }
  logger.info(`Advertising ${chosen.address} (interface ${chosen.name}) to clients: listening on ${config.listen} (set --advertise to choose)`);
  return chosen.address;
}

/** An IPv4 or IPv6 literal as its canonical text; a host name resolved once (first address). */
async function resolveHost(key: "advertise" | "listen", text: string, logger: Logger): Promise<string> {
  const literal = parseIpAddress(text);
  if (literal !== undefined) return literal.address;
  if (!isHostName(text)) throw new MqError("INVALID_CONFIG", { key: `"${key}"`, reason: `must be an IPv4 address, an IPv6 address or a host name, got "${text}"` });
  let resolved: string;
  try {
    resolved = (await lookup(text)).address;
  } catch (error) {
    throw new MqError("INVALID_CONFIG", { key: `"${key}"`, reason: `cannot resolve host name "${text}": ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` });
  }
  logger.info(`Advertising ${resolved} to clients: "${text}" resolved at start`);
  return parseIpAddress(resolved)?.address ?? resolved;
}

/**
 * The store host written into each record. The record's field holds an IPv4 address; an IPv6
 * broker writes 0.0.0.0 there and clients take its address from the broker they pulled from
 * (src/protocol/README.md, "Message ids").
 */
function recordStoreHost(host: string | undefined): string {
  if (host === undefined) return "127.0.0.1";
  return parseIpAddress(host)?.family === 4 ? host : "0.0.0.0";
}
