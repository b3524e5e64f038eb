/**
 * GET /api/v1/cluster reports the broker as it is configured and as NameServers see it: its
 * cluster name, broker id and the age of its last registration — not fixed placeholders. One
 * broker runs as a real `mq start --role broker,http --cluster X --broker-id N` process against a
 * NameServer process; one runs in this process with no NameServer at all.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { Admin } from "../../../src/client/admin.ts";
import { silentLogger } from "../../../src/common/logger.ts";
import { loadConfig } from "../../../src/config/load-config.ts";
import { startServer } from "../../../src/server.ts";
import { startBrokerProcess, startNamesrvProcess, stopClusterProcesses } from "../../helpers/cluster.ts";
import { makeTempDir, removeTempDirs } from "../../helpers/temp-dir.ts";

afterAll(async () => {
  await stopClusterProcesses();
  removeTempDirs();
});

async function getJson(url: string): Promise<any> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return response.json();
}

describe("REST cluster view", () => {
  test("a broker process started with --cluster and --broker-id reports them, and the age of its last registration", async () => {
    const namesrv = await startNamesrvProcess();
    const broker = await startBrokerProcess({ namesrv: namesrv.address, brokerName: "broker-x", clusterName: "Payments", brokerId: 3 });
    const admin = new Admin({ namesrv: namesrv.address, logger: silentLogger });
    try {
      await broker.waitReady();
      const view = await getJson(`http://127.0.0.1:${broker.httpPort}/api/v1/cluster`);
      expect(view.source).toBe("local");
      expect(view.brokers).toHaveLength(1);
      expect(view.brokers[0]).toMatchObject({ clusterName: "Payments", brokerName: "broker-x", brokerId: 3, role: "slave", brokerAddr: broker.address });
      expect(view.brokers[0].lastHeartbeatAgeMs).toBeGreaterThanOrEqual(0);

      // The NameServer's own view agrees on who the broker is.
      const seen = (await admin.clusterInfo()).brokers.find((entry) => entry.brokerAddr === broker.address);
      expect(seen).toMatchObject({ clusterName: "Payments", brokerName: "broker-x", brokerId: 3, role: "slave" });
      // Its disk figures travel in its registration (REGISTER_BROKER over TCP), so a NameServer's view has them too.
      expect(seen?.storeBytes).toBeGreaterThanOrEqual(0);
      expect(seen?.diskUsedRatio).toBeGreaterThan(0);
      expect(seen?.diskUsedRatio).toBeLessThanOrEqual(1);
    } finally {
      await admin.close();
      await broker.stop();
      await namesrv.stop();
    }
  }, 60_000);

  test("a broker no NameServer has heard from has no heartbeat age; its settings still show", async () => {
    const config = loadConfig({
      flags: {
        role: "broker,http",
        port: 0,
        httpPort: 0,
        haPort: 0,
        listen: "127.0.0.1",
        logLevel: "silent",
        dataDir: makeTempDir("mq-cluster-view-"),
        commitLogFileBytes: 16 * 1024 * 1024,
        consumeQueueEntriesPerFile: 4096,
        clusterName: "Audit",
        brokerName: "broker-z",
        brokerId: 2,
      },
    });
    const server = await startServer(config, silentLogger);
    try {
      const view = await getJson(`http://127.0.0.1:${server.httpPort}/api/v1/cluster`);
      expect(view.source).toBe("local");
      expect(view.brokers).toEqual([{ clusterName: "Audit", brokerName: "broker-z", brokerId: 2, role: "slave", brokerAddr: server.brokerAddr, version: expect.any(String), topics: expect.any(Number), storeBytes: expect.any(Number), diskUsedRatio: expect.any(Number) }]);
    } finally {
      await server.stop();
    }
  }, 30_000);
});
