/**
 * loadConfig: defaults, YAML/TOML/JSON files, precedence file < env MQ_* < flags, coercion of
 * text values, and INVALID_CONFIG errors that name the offending key or file.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { errorCatalog, isMqError, type MqError } from "../../../src/common/errors.ts";
import * as limits from "../../../src/common/limits.ts";
import { loadConfig, type ConfigSources } from "../../../src/config/load-config.ts";
import { brokerDefaults, clusterDefaults } from "../../../src/config/config-schema.ts";
import { makeTempDir, removeTempDirs } from "../../helpers/temp-dir.ts";

afterAll(removeTempDirs);

const dir = makeTempDir("mq-config-");
let fileCounter = 0;

function writeConfigFile(extension: string, text: string): string {
  const path = join(dir, `config-${fileCounter++}.${extension}`);
  writeFileSync(path, text);
  return path;
}

function configError(sources: ConfigSources): MqError {
  try {
    loadConfig(sources);
  } catch (error) {
    if (isMqError(error, "INVALID_CONFIG")) return error;
    throw new Error(`Expected INVALID_CONFIG, got ${String(error)}`);
  }
  throw new Error(`Expected INVALID_CONFIG, but ${JSON.stringify(sources)} loaded`);
}

describe("loadConfig: defaults", () => {
  test("gives every default when no source says anything", () => {
    expect(loadConfig({})).toEqual({
      role: ["all"],
      dataDir: "./data",
      listen: "127.0.0.1",
      port: 10911,
      namesrvPort: 9876,
      haPort: 10912,
      httpPort: 8080,
      consoleReadOnly: false,
      namesrv: [],
      ...clusterDefaults,
      flush: "async",
      flushIntervalMs: limits.flushIntervalMsDefault,
      commitLogFileBytes: limits.sandboxCommitLogFileBytes,
      consumeQueueEntriesPerFile: limits.sandboxConsumeQueueEntriesPerFile,
      indexSlotsPerFile: limits.sandboxIndexSlotsPerFile,
      indexEntriesPerFile: limits.sandboxIndexEntriesPerFile,
      fileReservedTimeHours: limits.fileReservedTimeHoursDefault,
      deleteWhenHour: limits.deleteWhenHourDefault,
      diskMaxUsedSpaceRatio: limits.diskMaxUsedSpaceRatioDefault,
      diskFullRatio: limits.diskFullRatioDefault,
      ...brokerDefaults,
      logLevel: "info",
    });
  });

  test("the all-in-one sandbox listens on loopback and uses small CommitLog, consume-queue and index files; any other role 0.0.0.0 and RocketMQ's sizes", () => {
    const sandbox = loadConfig({});
    expect({ listen: sandbox.listen, fileBytes: sandbox.commitLogFileBytes, queueEntries: sandbox.consumeQueueEntriesPerFile, indexSlots: sandbox.indexSlotsPerFile, indexEntries: sandbox.indexEntriesPerFile }).toEqual({
      listen: "127.0.0.1",
      fileBytes: 64 * limits.MiB,
      queueEntries: 30_000,
      indexSlots: 100_000,
      indexEntries: 400_000,
    });
    for (const role of ["broker", "namesrv", "http", "namesrv,broker,http"]) {
      const config = loadConfig({ flags: { role } });
      expect({ role, listen: config.listen, fileBytes: config.commitLogFileBytes, queueEntries: config.consumeQueueEntriesPerFile, indexEntries: config.indexEntriesPerFile }).toEqual({
        role,
        listen: "0.0.0.0",
        fileBytes: limits.commitLogFileBytesDefault,
        queueEntries: limits.consumeQueueEntriesPerFileDefault,
        indexEntries: limits.indexEntriesPerFileDefault,
      });
    }
    const told = loadConfig({ flags: { listen: "0.0.0.0", commitLogFileBytes: String(limits.GiB) } });
    expect({ listen: told.listen, fileBytes: told.commitLogFileBytes }).toEqual({ listen: "0.0.0.0", fileBytes: limits.GiB });
  });

  test("leaves advertise unset by default", () => {
    expect(loadConfig({}).advertise).toBeUndefined();
  });

  test("ignores undefined env values and flags", () => {
    expect(loadConfig({ env: { MQ_HTTP_PORT: undefined }, flags: { httpPort: undefined, dataDir: undefined } })).toEqual(loadConfig({}));
  });

  test("ignores environment variables that are not MQ_ settings", () => {
    expect(loadConfig({ env: { PATH: "/usr/bin", HTTP_PORT: "1", MQ_NOT_A_SETTING: "x", MQ_CONFIG: "/nowhere.yaml" } })).toEqual(loadConfig({}));
  });
});

describe("loadConfig: files", () => {
  test("reads a YAML file", () => {
    const file = writeConfigFile("yaml", "dataDir: /var/lib/mq\nhttpPort: 9090\nflush: sync\nrole: [namesrv, broker]\ncommitLogFileBytes: 65536\n");
    const config = loadConfig({ file });
    expect(config.dataDir).toBe("/var/lib/mq");
    expect(config.httpPort).toBe(9090);
    expect(config.flush).toBe("sync");
    expect(config.role).toEqual(["namesrv", "broker"]);
    expect(config.commitLogFileBytes).toBe(65_536);
    expect(config.port).toBe(10911);
  });

  test("reads a .yml file as YAML", () => {
    expect(loadConfig({ file: writeConfigFile("yml", "logLevel: warn\n") }).logLevel).toBe("warn");
  });

  test("reads a TOML file", () => {
    const file = writeConfigFile("toml", 'dataDir = "/srv/mq"\nport = 20911\nflushIntervalMs = 250\nrole = ["broker"]\ndiskFullRatio = 0.95\n');
    const config = loadConfig({ file });
    expect(config.dataDir).toBe("/srv/mq");
    expect(config.port).toBe(20911);
    expect(config.flushIntervalMs).toBe(250);
    expect(config.role).toEqual(["broker"]);
    expect(config.diskFullRatio).toBe(0.95);
  });

  test("reads a JSON file", () => {
    expect(loadConfig({ file: writeConfigFile("json", '{"httpPort": 7070}') }).httpPort).toBe(7070);
  });

  test("treats an empty file as no settings", () => {
    expect(loadConfig({ file: writeConfigFile("yaml", "") })).toEqual(loadConfig({}));
    expect(loadConfig({ file: writeConfigFile("toml", "") })).toEqual(loadConfig({}));
  });

  test("accepts role as a comma list in a file", () => {
    expect(loadConfig({ file: writeConfigFile("yaml", 'role: "namesrv,broker"\n') }).role).toEqual(["namesrv", "broker"]);
  });
});

describe("loadConfig: precedence", () => {
  test("env MQ_* overrides the file, and flags override both", () => {
    const file = writeConfigFile("yaml", "dataDir: /from/file\nhttpPort: 1111\nport: 2222\nflush: sync\n");
    const config = loadConfig({
      file,
      env: { MQ_DATA_DIR: "/from/env", MQ_HTTP_PORT: "3333" },
      flags: { dataDir: "/from/flags" },
    });
    expect({ dataDir: config.dataDir, httpPort: config.httpPort, port: config.port, flush: config.flush }).toEqual({
      dataDir: "/from/flags",
      httpPort: 3333,
      port: 2222,
      flush: "sync",
    });
  });

  test("env overrides defaults for every setting by its upper snake case name", () => {
    const config = loadConfig({
      env: {
        MQ_ROLE: "broker",
        MQ_DATA_DIR: "/env/data",
        MQ_LISTEN: "127.0.0.1",
        MQ_ADVERTISE: "10.0.0.1",
        MQ_PORT: "1",
        MQ_HTTP_PORT: "2",
        MQ_FLUSH: "sync",
        MQ_FLUSH_INTERVAL_MS: "3",
        MQ_COMMIT_LOG_FILE_BYTES: "131072",
        MQ_CONSUME_QUEUE_ENTRIES_PER_FILE: "8",
        MQ_FILE_RESERVED_TIME_HOURS: "0.5",
        MQ_DELETE_WHEN_HOUR: "23",
        MQ_DISK_MAX_USED_SPACE_RATIO: "0.5",
        MQ_DISK_FULL_RATIO: "1",
        MQ_AUTO_CREATE_TOPICS: "false",
        MQ_DEFAULT_TOPIC_QUEUES: "8",
        MQ_TOPICS_MAX: "50",
        MQ_INDEX_SLOTS_PER_FILE: "64",
        MQ_INDEX_ENTRIES_PER_FILE: "256",
        MQ_CLIENT_EXPIRY_MS: "5000",
        MQ_LONG_POLL_MS_MAX: "1000",
        MQ_HELD_PULLS_MAX: "10",
        MQ_OFFSET_PERSIST_INTERVAL_MS: "200",
        MQ_QUEUE_LOCK_EXPIRY_MS: "2000",
        MQ_MESSAGE_DELAY_LEVEL: "1s 2m 3h 4d",
        MQ_TIMER_MAX_DELAY_MS: "60000",
        MQ_DEDUP: "true",
        MQ_DEDUP_WINDOW_MS: "600000",
        MQ_TRANSACTION_TIMEOUT_MS: "500",
        MQ_TRANSACTION_CHECK_MAX: "3",
        MQ_TRACE_ENABLED: "false",
        MQ_TRACE_TOPIC: "AppTrace",
        MQ_LOG_LEVEL: "silent",
        MQ_NAMESRV: "10.0.0.2:9876;10.0.0.3:9876",
        MQ_CLUSTER_NAME: "c1",
        MQ_BROKER_NAME: "b1",
        MQ_BROKER_ID: "1",
        MQ_HA_PORT: "4",
        MQ_NAMESRV_PORT: "5",
        MQ_BROKER_HEARTBEAT_INTERVAL_MS: "100",
        MQ_NAMESRV_SCAN_INTERVAL_MS: "50",
        MQ_BROKER_EXPIRY_MS: "600",
        MQ_BROKER: "10.0.0.4:10911",
        MQ_CONSOLE_READ_ONLY: "true",
      },
    });
    expect(config).toEqual({
      role: ["broker"],
      dataDir: "/env/data",
      listen: "127.0.0.1",
      advertise: "10.0.0.1",
      port: 1,
      namesrvPort: 5,
      haPort: 4,
      namesrv: ["10.0.0.2:9876", "10.0.0.3:9876"],
      broker: "10.0.0.4:10911",
      clusterName: "c1",
      brokerName: "b1",
      brokerId: 1,
      brokerHeartbeatIntervalMs: 100,
      namesrvScanIntervalMs: 50,
      brokerExpiryMs: 600,
      httpPort: 2,
      consoleReadOnly: true,
      flush: "sync",
      flushIntervalMs: 3,
      commitLogFileBytes: 131_072,
      consumeQueueEntriesPerFile: 8,
      indexSlotsPerFile: 64,
      indexEntriesPerFile: 256,
      fileReservedTimeHours: 0.5,
      deleteWhenHour: 23,
      diskMaxUsedSpaceRatio: 0.5,
      diskFullRatio: 1,
      autoCreateTopics: false,
      defaultTopicQueues: 8,
      topicsMax: 50,
      clientExpiryMs: 5000,
      longPollMsMax: 1000,
      heldPullsMax: 10,
      offsetPersistIntervalMs: 200,
      queueLockExpiryMs: 2000,
      messageDelayLevel: "1s 2m 3h 4d",
      timerMaxDelayMs: 60_000,
      dedup: true,
      dedupWindowMs: 600_000,
      transactionTimeoutMs: 500,
      transactionCheckMax: 3,
      traceEnabled: false,
      traceTopic: "AppTrace",
      logLevel: "silent",
    });
  });

  test("a delay-level table not in RocketMQ's syntax stops start-up naming the key", () => {
    expect(() => loadConfig({ env: { MQ_MESSAGE_DELAY_LEVEL: "1s 5x" } })).toThrow(/messageDelayLevel/);
    expect(() => loadConfig({ env: { MQ_TIMER_MAX_DELAY_MS: "0" } })).toThrow(/timerMaxDelayMs/);
    expect(() => loadConfig({ env: { MQ_DEDUP_WINDOW_MS: String(24 * 3_600_000 + 1) } })).toThrow(/dedupWindowMs/);
  });

  test("flags override env", () => {
    const config = loadConfig({ env: { MQ_HTTP_PORT: "3333", MQ_FLUSH: "sync" }, flags: { httpPort: "4444" } });
    expect(config.httpPort).toBe(4444);
    expect(config.flush).toBe("sync");
  });
});

describe("loadConfig: roles and ports", () => {
  test("--port is the broker's port by default, 10911, with the NameServer on 9876", () => {
    const config = loadConfig({ flags: { role: "namesrv,broker" } });
    expect([config.port, config.namesrvPort]).toEqual([10911, 9876]);
  });

  test("--port is the NameServer's when it runs without a broker, 9876 by default", () => {
    expect(loadConfig({ flags: { role: "namesrv" } }).port).toBe(9876);
    expect(loadConfig({ flags: { role: "namesrv,http", port: "7000" } })).toMatchObject({ port: 7000, namesrvPort: 7000 });
    expect(loadConfig({ flags: { role: "namesrv", namesrvPort: "7001" } })).toMatchObject({ port: 7001, namesrvPort: 7001 });
  });

  test("role all on port 0 gives the NameServer a free port too, unless --namesrv-port says otherwise", () => {
    expect(loadConfig({ flags: { port: 0 } }).namesrvPort).toBe(0);
    expect(loadConfig({ flags: { port: 0, namesrvPort: 9999 } }).namesrvPort).toBe(9999);
  });

  test("takes NameServer addresses as a ;-list from flags and env, or a list from a file", () => {
    expect(loadConfig({ flags: { namesrv: "a:1; b:2;" } }).namesrv).toEqual(["a:1", "b:2"]);
    const file = writeConfigFile("yaml", "namesrv: [\"h1:9876\", \"h2:9876\"]\n");
    expect(loadConfig({ file }).namesrv).toEqual(["h1:9876", "h2:9876"]);
  });

  test("refuses a NameServer address without a port", () => {
    expect(configError({ flags: { namesrv: "localhost" } }).message).toContain('"namesrv.0"');
  });

  test("refuses a heartbeat interval not below the broker expiry", () => {
    expect(configError({ flags: { brokerHeartbeatIntervalMs: 5000, brokerExpiryMs: 5000 } }).message).toContain("brokerHeartbeatIntervalMs");
  });
});

describe("loadConfig: coercion", () => {
  test("coerces numbers given as strings from env and flags", () => {
    const config = loadConfig({ env: { MQ_PORT: "10912", MQ_DISK_FULL_RATIO: "0.85" }, flags: { httpPort: "8081", flushIntervalMs: " 200 " } });
    expect([config.port, config.diskFullRatio, config.httpPort, config.flushIntervalMs]).toEqual([10912, 0.85, 8081, 200]);
  });

  test("keeps numbers given as numbers", () => {
    expect(loadConfig({ flags: { httpPort: 0 } }).httpPort).toBe(0);
  });

  test('splits role "namesrv,broker" into a list, trimming spaces', () => {
    expect(loadConfig({ flags: { role: "namesrv,broker" } }).role).toEqual(["namesrv", "broker"]);
    expect(loadConfig({ env: { MQ_ROLE: " namesrv , http " } }).role).toEqual(["namesrv", "http"]);
  });

  test("does not coerce text settings that look like numbers", () => {
    expect(loadConfig({ env: { MQ_DATA_DIR: "123" } }).dataDir).toBe("123");
  });
});

describe("loadConfig: invalid settings", () => {
  test("stops on an unknown key in the file, naming the key", () => {
    const error = configError({ file: writeConfigFile("yaml", "dataDir: /x\nhttpPrt: 8080\n") });
    expect(error.code).toBe(errorCatalog.INVALID_CONFIG.code);
    expect(error.message).toContain('"httpPrt"');
    expect(error.message).toContain("not a known setting");
  });

  test("stops on an unknown key in a TOML file, naming the key", () => {
    expect(configError({ file: writeConfigFile("toml", "bogus = 1\n") }).message).toContain('"bogus"');
  });

  test("stops on an unknown flag, naming it", () => {
    expect(configError({ flags: { nope: "1" } }).message).toContain('"nope"');
  });

  const invalid: [string, ConfigSources, string][] = [
    ['flush: "sometimes"', { file: "flush: sometimes\n" }, "flush"],
    ["httpPort: 70000", { file: "httpPort: 70000\n" }, "httpPort"],
    ["httpPort: -1", { flags: { httpPort: "-1" } }, "httpPort"],
    ["httpPort: 80.5", { flags: { httpPort: "80.5" } }, "httpPort"],
    ['httpPort: "notaport" from a flag', { flags: { httpPort: "notaport" } }, "httpPort"],
    ['port: "" from env', { env: { MQ_PORT: "" } }, "port"],
    ["MQ_FLUSH=never", { env: { MQ_FLUSH: "never" } }, "flush"],
    ["commitLogFileBytes not a multiple of 4096", { file: "commitLogFileBytes: 69632.5\n" }, "commitLogFileBytes"],
    ["commitLogFileBytes of 65537", { file: "commitLogFileBytes: 65537\n" }, "commitLogFileBytes"],
    ["commitLogFileBytes below the minimum", { file: "commitLogFileBytes: 4096\n" }, "commitLogFileBytes"],
    ["commitLogFileBytes above the maximum", { flags: { commitLogFileBytes: String(4 * limits.GiB) } }, "commitLogFileBytes"],
    ["consumeQueueEntriesPerFile below the minimum", { flags: { consumeQueueEntriesPerFile: "7" } }, "consumeQueueEntriesPerFile"],
    ["deleteWhenHour: 24", { file: "deleteWhenHour: 24\n" }, "deleteWhenHour"],
    ["diskFullRatio: 0", { file: "diskFullRatio: 0\n" }, "diskFullRatio"],
    ["diskFullRatio: 1.5", { file: "diskFullRatio: 1.5\n" }, "diskFullRatio"],
    ['role: "everything"', { flags: { role: "everything" } }, "role"],
    ['role: ""', { flags: { role: "" } }, "role"],
    ["logLevel: loud", { env: { MQ_LOG_LEVEL: "loud" } }, "logLevel"],
    ["dataDir: empty", { flags: { dataDir: "" } }, "dataDir"],
    ["dataDir given as a number in a file", { file: "dataDir: 5\n" }, "dataDir"],
  ];
  for (const [what, sources, key] of invalid) {
    test(`stops on ${what}, naming "${key}"`, () => {
      const resolved = typeof sources.file === "string" ? { ...sources, file: writeConfigFile("yaml", sources.file) } : sources;
      const error = configError(resolved);
      expect(error.message).toStartWith("Cannot load configuration: ");
      // A list setting may be named with the index of its bad element ("role.0").
      expect(error.message).toMatch(new RegExp(`"${key}(\\.\\d+)?" `));
    });
  }

  test('explains a commitLogFileBytes that is not page aligned: "must be a multiple of 4096"', () => {
    expect(configError({ flags: { commitLogFileBytes: "65537" } }).message).toContain("multiple of 4096");
  });
});

describe("loadConfig: unusable files", () => {
  test("names a file that does not exist", () => {
    const file = join(dir, "missing.yaml");
    const error = configError({ file });
    expect(error.message).toContain(`"${file}"`);
    expect(error.message).toContain("cannot be read");
  });

  test("names a file that is a directory", () => {
    const sub = join(dir, "a-directory.yaml");
    mkdirSync(sub);
    expect(configError({ file: sub }).message).toContain(`"${sub}"`);
  });

  test.skipIf(process.getuid?.() === 0)("names a file without read permission", () => {
    const file = writeConfigFile("yaml", "httpPort: 1\n");
    chmodSync(file, 0o000);
    expect(configError({ file }).message).toContain(`"${file}"`);
  });

  const malformed: [string, string, string][] = [
    ["malformed YAML", "yaml", "dataDir: [unclosed\n  httpPort: : :\n"],
    ["malformed TOML", "toml", "dataDir = \nport = = 1\n"],
    ["malformed JSON", "json", "{ not json"],
    ["a YAML list instead of a map", "yaml", "- a\n- b\n"],
    ["a YAML scalar instead of a map", "yaml", "just text\n"],
  ];
  for (const [what, extension, text] of malformed) {
    test(`names a file holding ${what}`, () => {
      const file = writeConfigFile(extension, text);
      const error = configError({ file });
      expect(error.message).toContain(`file "${file}"`);
    });
  }
});
