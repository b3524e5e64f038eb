/**
 * Every setting of `mq start`, as one zod schema. Sources layer as file (YAML or TOML) < env
 * `MQ_*` < flags; an unknown or invalid key stops start-up with a message naming the key.
 */

import { z } from "zod";
import { parseDelayLevels } from "../common/delay-levels.ts";
import * as limits from "../common/limits.ts";
import { systemTopics } from "../common/system-topics.ts";

/**
 * Broker defaults, kept beside the schema so the broker (which may import config) and the
 * schema agree on one number each. Sandbox-friendly like RocketMQ's: topics are created on
 * first use with four queues.
 */
export const brokerDefaults = {
  autoCreateTopics: true,
  defaultTopicQueues: 4,
  /** Topics that may exist at once; creating one more is TOPIC_LIMIT_REACHED. */
  topicsMax: limits.topicsPerBrokerMaxDefault,
  /** A consumer or producer silent this long is dropped from its group (RocketMQ: 120 s). */
  clientExpiryMs: 120_000,
  /** A held pull is answered after at most this long, whatever the client asked for. */
  longPollMsMax: 15_000,
  /** Pulls held at once across all connections; more are answered at once (no hold). */
  heldPullsMax: 10_000,
  /** Consumer offsets are written to disk this often (and on shutdown). */
  offsetPersistIntervalMs: 5_000,
  /** A queue lock not renewed for this long is free for another client (RocketMQ: 60 s). */
  queueLockExpiryMs: 60_000,
  /** The delay-level table (RocketMQ's syntax); level n of a send waits the n-th duration. */
  messageDelayLevel: limits.messageDelayLevelDefault,
  /** The longest delay a scheduled message may ask for; longer is TIMER_DELAY_OUT_OF_RANGE. */
  timerMaxDelayMs: limits.timerMaxDelayMsDefault,
  /** The dedup window for every topic (exactly-once produce, as NATS and Kafka default to); off: only topics with their own window. */
  dedup: true,
  /** Its length: a send whose id was stored this recently is answered with the original. */
  dedupWindowMs: limits.dedupWindowMsDefault,
  /** A half message unresolved this long after it was stored is first checked back with its producer group. */
  transactionTimeoutMs: limits.transactionTimeoutMsDefault,
  /** Check-backs a live producer received before an unresolved half is moved to the exhausted list. */
  transactionCheckMax: limits.transactionCheckMaxDefault,
  /** The broker records the hops it sees (stored, scheduled, delivered, retried, popped...) in the trace topic. */
  traceEnabled: true,
  /** Where the broker writes its trace records (RocketMQ's default trace topic). */
  traceTopic: systemTopics.trace,
} as const;

/**
 * Cluster defaults (DESIGN.md §7, RocketMQ's numbers). Tests shrink the three intervals so a
 * broker expires in seconds; the relation heartbeat < expiry is checked by the schema.
 */
export const clusterDefaults = {
  clusterName: "DefaultCluster",
  brokerName: "broker-a",
  /** 0 is the master of its broker group; 1.. are slaves. */
  brokerId: 0,
  /** A broker re-registers (its heartbeat) this often. */
  brokerHeartbeatIntervalMs: 30_000,
  /** A NameServer looks for silent brokers this often. */
  namesrvScanIntervalMs: 10_000,
  /** A broker silent this long is dropped from every route. */
  brokerExpiryMs: 120_000,
} as const;

/** The main TCP ports of each role (DESIGN.md §2). */
export const portDefaults = { broker: 10911, namesrv: 9876, ha: 10912, http: 8080 } as const;

/** A boolean from a file, or "true"/"false" (and yes/no, 1/0) from the environment or a flag. */
const booleanSetting = z.union([z.boolean(), z.stringbool()]);

export const roleSchema = z.enum(["all", "namesrv", "broker", "http"]);
export type Role = z.infer<typeof roleSchema>;

const portMessage = "must be a port number from 0 to 65535 (0: any free port)";
const port = z.number({ error: portMessage }).int({ error: portMessage }).min(0, { error: portMessage }).max(65535, { error: portMessage });
const namesrvAddress = z.string().regex(/^\S+:\d{1,5}$/, 'must be "host:port"');

/** "host:port;host:port" (flag, env) or a list (file); empty entries are ignored. */
const namesrvList = z
  .union([z.string(), z.array(z.string())])
  .transform((value) => (typeof value === "string" ? value.split(/[;,]/) : value).map((entry) => entry.trim()).filter((entry) => entry.length > 0))
  .pipe(z.array(namesrvAddress));

/** The settings as given; `configSchema` then fills the ports that depend on the roles. */
export const configObjectSchema = z
  .object({
    role: z.array(roleSchema).min(1).default(["all"]),
    dataDir: z.string().min(1).default("./data"),
    /** Default: 127.0.0.1 in role all (a sandbox with an unauthenticated admin API), else 0.0.0.0. */
    listen: z.string().min(1).optional(),
    advertise: z.string().min(1).optional(),
    /** The main TCP port of the role started: the broker's, or the NameServer's when it runs alone. */
    port: port.optional(),
    /** The NameServer's port when it runs beside a broker (role all or namesrv,broker). */
    namesrvPort: port.optional(),
    /** Reserved for master→slave replication; advertised to NameServers as the haAddr. */
    haPort: port.default(portDefaults.ha),
    httpPort: port.default(portDefaults.http),
    /** The web console and the whole REST API read-only: every mutating request is refused (CONSOLE_READ_ONLY) and the console hides its actions. */
    consoleReadOnly: booleanSetting.default(false),
    /**
     * NameServers this broker registers with, besides one running in this process. The http role
     * without a local broker serves the REST API for the cluster they route (through the SDK).
     */
    namesrv: namesrvList.default([]),
    /**
     * The http role without a local broker or any NameServer: one standalone broker, "host:port",
     * to serve the REST API for (as the CLI's --broker / MQ_BROKER). Ignored when a broker runs
     * here; NameServers win when both are given.
     */
    broker: namesrvAddress.optional(),
    clusterName: z.string().regex(limits.topicNamePattern).default(clusterDefaults.clusterName),
    brokerName: z.string().regex(limits.topicNamePattern).default(clusterDefaults.brokerName),
    brokerId: z.number().int().min(0).max(1_023).default(clusterDefaults.brokerId),
    brokerHeartbeatIntervalMs: z.number().int().min(50).max(600_000).default(clusterDefaults.brokerHeartbeatIntervalMs),
    namesrvScanIntervalMs: z.number().int().min(10).max(600_000).default(clusterDefaults.namesrvScanIntervalMs),
    brokerExpiryMs: z.number().int().min(100).max(3_600_000).default(clusterDefaults.brokerExpiryMs),
    flush: z.enum(["async", "sync"]).default("async"),
    flushIntervalMs: z.number().int().min(1).max(60_000).default(limits.flushIntervalMsDefault),
    commitLogFileBytes: z
      .number()
      .int()
      .min(limits.commitLogFileBytesMin)
      .max(limits.commitLogFileBytesMax)
      .refine((value) => value % limits.pageBytes === 0, `must be a multiple of ${limits.pageBytes}`)
      .optional(),
    consumeQueueEntriesPerFile: z.number().int().min(limits.consumeQueueEntriesPerFileMin).max(limits.consumeQueueEntriesPerFileDefault * 10).optional(),
    indexSlotsPerFile: z.number().int().min(1).max(limits.indexSlotsPerFileDefault * 10).optional(),
    indexEntriesPerFile: z.number().int().min(1).max(limits.indexEntriesPerFileDefault * 10).optional(),
    fileReservedTimeHours: z.number().min(0).default(limits.fileReservedTimeHoursDefault),
    deleteWhenHour: z.number().int().min(0).max(23).default(limits.deleteWhenHourDefault),
    diskMaxUsedSpaceRatio: z.number().gt(0).max(1).default(limits.diskMaxUsedSpaceRatioDefault),
    diskFullRatio: z.number().gt(0).max(1).default(limits.diskFullRatioDefault),
    autoCreateTopics: booleanSetting.default(brokerDefaults.autoCreateTopics),
    defaultTopicQueues: z.number().int().min(1).max(limits.queuesPerTopicMax).default(brokerDefaults.defaultTopicQueues),
    topicsMax: z.number().int().min(1).max(limits.topicsPerBrokerMaxLimit).default(brokerDefaults.topicsMax),
    clientExpiryMs: z.number().int().min(1_000).max(3_600_000).default(brokerDefaults.clientExpiryMs),
    longPollMsMax: z.number().int().min(0).max(30_000).default(brokerDefaults.longPollMsMax),
    heldPullsMax: z.number().int().min(0).max(1_000_000).default(brokerDefaults.heldPullsMax),
    offsetPersistIntervalMs: z.number().int().min(100).max(600_000).default(brokerDefaults.offsetPersistIntervalMs),
    queueLockExpiryMs: z.number().int().min(1_000).max(3_600_000).default(brokerDefaults.queueLockExpiryMs),
    messageDelayLevel: z
      .string()
      .superRefine((text, context) => {
        const parsed = parseDelayLevels(text);
        if (!parsed.ok) context.addIssue({ code: "custom", message: parsed.reason });
      })
      .default(brokerDefaults.messageDelayLevel),
    timerMaxDelayMs: z.number().int().min(1).max(limits.timerMaxDelayMsLimit).default(brokerDefaults.timerMaxDelayMs),
    dedup: booleanSetting.default(brokerDefaults.dedup),
    dedupWindowMs: z.number().int().min(1).max(limits.dedupWindowMsMax).default(brokerDefaults.dedupWindowMs),
    transactionTimeoutMs: z.number().int().min(1).max(limits.transactionTimeoutMsLimit).default(brokerDefaults.transactionTimeoutMs),
    transactionCheckMax: z.number().int().min(1).max(limits.transactionCheckMaxLimit).default(brokerDefaults.transactionCheckMax),
    traceEnabled: booleanSetting.default(brokerDefaults.traceEnabled),
    traceTopic: z.string().regex(limits.topicNamePattern).default(brokerDefaults.traceTopic),
    logLevel: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
    /** For tests of the start-up probes: a pause after each recovery step, to watch a recovery in progress. */
    recoveryStepPauseMs: z.number().int().min(0).max(60_000).optional(),
  })
  .strict();

/**
 * The full settings, ports resolved: `port` defaults to the broker's 10911, or to 9876 when the
 * NameServer runs without a broker. In role all with `port` 0 (tests, sandboxes asking for free
 * ports) the co-located NameServer takes a free port too unless `namesrvPort` says otherwise,
 * so two sandboxes never fight over 9876. Role all is the local sandbox: unless told otherwise it
 * listens on loopback only and uses small CommitLog, consume-queue and index files.
 */
export const configSchema = configObjectSchema
  .superRefine((config, context) => {
    if (config.brokerHeartbeatIntervalMs >= config.brokerExpiryMs) {
      context.addIssue({ code: "custom", path: ["brokerHeartbeatIntervalMs"], message: `must be below brokerExpiryMs (${config.brokerExpiryMs}), got ${config.brokerHeartbeatIntervalMs}` });
    }
  })
  .transform((config) => {
    const roles = rolesOf(config.role);
    const namesrvAlone = roles.namesrv && !roles.broker;
    const mainPort = config.port ?? (namesrvAlone ? config.namesrvPort ?? portDefaults.namesrv : portDefaults.broker);
    const sandbox = config.role.includes("all");
    const namesrvPort = namesrvAlone ? mainPort : config.namesrvPort ?? (sandbox && mainPort === 0 ? 0 : portDefaults.namesrv);
    return {
      ...config,
      port: mainPort,
      namesrvPort,
      listen: config.listen ?? (sandbox ? "127.0.0.1" : "0.0.0.0"),
      commitLogFileBytes: config.commitLogFileBytes ?? (sandbox ? limits.sandboxCommitLogFileBytes : limits.commitLogFileBytesDefault),
      consumeQueueEntriesPerFile: config.consumeQueueEntriesPerFile ?? (sandbox ? limits.sandboxConsumeQueueEntriesPerFile : limits.consumeQueueEntriesPerFileDefault),
      indexSlotsPerFile: config.indexSlotsPerFile ?? (sandbox ? limits.sandboxIndexSlotsPerFile : limits.indexSlotsPerFileDefault),
      indexEntriesPerFile: config.indexEntriesPerFile ?? (sandbox ? limits.sandboxIndexEntriesPerFile : limits.indexEntriesPerFileDefault),
    };
  });

export type MqConfig = z.output<typeof configSchema>;
export type MqConfigInput = z.input<typeof configSchema>;

export interface RoleSet {
  readonly namesrv: boolean;
  readonly broker: boolean;
  readonly http: boolean;
}

/** Which modules run: "all" means every one. */
export function rolesOf(roles: readonly Role[]): RoleSet {
  const all = roles.includes("all");
  return { namesrv: all || roles.includes("namesrv"), broker: all || roles.includes("broker"), http: all || roles.includes("http") };
}
