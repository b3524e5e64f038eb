/**
 * `mq cluster list`, `mq topic create --namesrv` and `mq topic route` against a cluster of real
 * processes (two NameServers, two brokers), each command run as its own `mq` process from source
 * with a deadline, as a user would type it.
 */

import { describe, expect, test, afterAll } from "bun:test";
import { join } from "node:path";
import { Producer } from "../../src/client/index.ts";
import { startTestCluster, waitUntil } from "../integration/cluster/cluster-processes.ts";
import { cleanEnv, repoRoot, withDeadline } from "./helpers.ts";
import { stopClusterProcesses } from "../helpers/cluster.ts";

afterAll(stopClusterProcesses);

const commandTimeoutMs = 20_000;

async function mq(args: readonly string[], env: Record<string, string> = {}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const child = Bun.spawn([process.execPath, join(repoRoot, "src/cli/main.ts"), ...args], { cwd: repoRoot, env: { ...cleanEnv, ...env }, stdout: "pipe", stderr: "pipe" });
  try {
    const [stdout, stderr, exitCode] = await withDeadline(Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]), commandTimeoutMs, `mq ${args.join(" ")}`);
    return { exitCode, stdout, stderr };
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
}

describe("e2e: cluster CLI", () => {
  test("cluster list, topic create over the cluster or named brokers, and topic route", async () => {
    const cluster = await startTestCluster();

    const listed = await mq(["cluster", "list", "--namesrv", cluster.namesrv, "--json"]);
    expect(listed.stderr).toBe("");
    expect(listed.exitCode).toBe(0);
    const brokers = (JSON.parse(listed.stdout) as { brokers: Array<{ brokerName: string; brokerAddr: string; role: string; version: string; topics: number }> }).brokers;
    expect(brokers.map(({ brokerName, role }) => ({ brokerName, role }))).toEqual([
      { brokerName: "broker-a", role: "master" },
      { brokerName: "broker-b", role: "master" },
    ]);
    expect(brokers.map((broker) => broker.brokerAddr).sort()).toEqual(cluster.brokers.map((broker) => broker.address).sort());

    const table = await mq(["cluster", "list"], { MQ_NAMESRV: cluster.namesrv });
    expect(table.exitCode).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^CLUSTER\s+BROKER\s+ID\s+ROLE\s+ADDRESS\s+VERSION\s+HEARTBEAT\s+TOPICS$/);
    expect(table.stdout).toContain("broker-a");

    const created = await mq(["topic", "create", "Orders", "--queues", "4", "--namesrv", cluster.namesrv]);
    expect(created.exitCode).toBe(0);
    const onlyB = await mq(["topic", "create", "Audit", "--queues", "2", "--broker-name", "broker-b", "--namesrv", cluster.namesrv]);
    expect(onlyB.exitCode).toBe(0);
    expect(onlyB.stdout).toContain("on broker-b");

    let route: { queueDatas: Array<{ brokerName: string; writeQueues: number }>; brokerDatas: Array<{ brokerName: string; brokerAddrs: Record<string, string> }> } | undefined;
    await waitUntil("Orders to be routed to both brokers", async () => {
      const result = await mq(["topic", "route", "Orders", "--namesrv", cluster.namesrv, "--json"]);
      route = result.exitCode === 0 ? JSON.parse(result.stdout) : undefined;
      return route?.queueDatas.length === 2;
    });
    expect(route!.queueDatas.map(({ brokerName, writeQueues }) => ({ brokerName, writeQueues }))).toEqual([
      { brokerName: "broker-a", writeQueues: 4 },
      { brokerName: "broker-b", writeQueues: 4 },
    ]);
    await waitUntil("Audit to be routed to broker-b", async () => (await mq(["topic", "route", "Audit", "--namesrv", cluster.namesrv])).stdout.includes("broker-b"));
    const auditRoute = await mq(["topic", "route", "Audit", "--namesrv", cluster.namesrv]);
    expect(auditRoute.stdout).not.toContain("broker-a");
    expect(auditRoute.stdout).toMatch(/broker-b\s+2\s+2\s+RW-\s+false\s+master 127\.0\.0\.1:\d+/);

    const missing = await mq(["topic", "route", "Nowhere", "--namesrv", cluster.namesrv]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain(`NO_ROUTE: Cannot find a route for topic "Nowhere": asked ${cluster.namesrv.replace(";", ", ")}`);

    const noNamesrv = await mq(["cluster", "list", "--broker", cluster.brokers[0]!.address]);
    expect(noNamesrv.exitCode).toBe(1);
    expect(noNamesrv.stderr).toContain("give --namesrv");
  }, 120_000);

  test("consume lines and group describe name each queue's broker (queue ids repeat across brokers)", async () => {
    const cluster = await startTestCluster();
    expect((await mq(["topic", "create", "Shared", "--queues", "1", "--namesrv", cluster.namesrv])).exitCode).toBe(0);
    await waitUntil("Shared to be routed to both brokers", async () => {
      const result = await mq(["topic", "route", "Shared", "--namesrv", cluster.namesrv, "--json"]);
      return result.exitCode === 0 && (JSON.parse(result.stdout) as { queueDatas: unknown[] }).queueDatas.length === 2;
    });
    // One producer sends round-robin over every writable queue of every broker (one queue each
    // here), so consecutive sends reach both; separate `mq send` processes each start anywhere.
    const producer = new Producer({ namesrv: cluster.namesrv });
    await producer.start();
    try {
      for (const body of ["s1", "s2", "s3", "s4"]) await producer.send({ topic: "Shared", body });
    } finally {
      await producer.shutdown();
    }
    const consumed = await mq(["consume", "Shared", "--group", "SharedGroup", "--from", "first", "--count", "4", "--timeout", "10000", "--namesrv", cluster.namesrv]);
    expect(consumed.exitCode).toBe(0);
    const prefixes = consumed.stdout.split("\n").filter((line) => line.length > 0).map((line) => line.slice(0, line.indexOf("@")));
    expect([...new Set(prefixes)].sort()).toEqual(["[broker-a Shared:0", "[broker-b Shared:0"]);
    const described = await mq(["group", "describe", "SharedGroup", "--namesrv", cluster.namesrv]);
    expect(described.exitCode).toBe(0);
    const rows = described.stdout.split("\n").filter((line) => /^broker-[ab]\s+Shared\s+0\s/.test(line)).map((line) => line.split(/\s+/)[0]);
    expect({ header: /^BROKER\s+TOPIC\s+QUEUE/m.test(described.stdout), rows: rows.sort() }).toEqual({ header: true, rows: ["broker-a", "broker-b"] });
  }, 120_000);

  test("pointing --broker at a NameServer, or --namesrv at a broker, says which service answered and which flag to use", async () => {
    const cluster = await startTestCluster();
    const namesrv = cluster.namesrv.split(";")[0]!;
    const atNamesrv = await mq(["topic", "list", "--broker", namesrv]);
    expect({ exitCode: atNamesrv.exitCode, stdout: atNamesrv.stdout }).toEqual({ exitCode: 1, stdout: "" });
    expect(atNamesrv.stderr).toContain("WRONG_SERVICE");
    expect(atNamesrv.stderr).toContain("it is an mq NameServer, not a broker; give it as a NameServer address (--namesrv");
    const atBroker = await mq(["topic", "list", "--namesrv", cluster.brokers[0]!.address]);
    expect({ exitCode: atBroker.exitCode, stdout: atBroker.stdout }).toEqual({ exitCode: 1, stdout: "" });
    expect(atBroker.stderr).toContain("it is an mq broker, not a NameServer; give it as a broker address (--broker");
  }, 120_000);
});
