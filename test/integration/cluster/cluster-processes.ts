/**
 * A whole test cluster as separate processes on loopback — two NameServers and two brokers
 * (`broker-a`, `broker-b`) registered with both — built on test/helpers/cluster.ts. Resolves once
 * each NameServer lists both brokers, so a test starts from a settled cluster. Everything started
 * is stopped by pid after each test (SIGKILL: the processes hold nothing a test needs afterwards).
 */

import { Admin } from "../../../src/client/index.ts";
import { afterEachTest } from "../../helpers/cleanup-hooks.ts";
import { type BrokerClusterProcess, type ClusterProcess, startBrokerProcess, startNamesrvProcess } from "../../helpers/cluster.ts";
import { waitTimeoutMs } from "../../helpers/wait-for.ts";

export interface TestCluster {
  readonly namesrvs: readonly ClusterProcess[];
  readonly brokers: readonly BrokerClusterProcess[];
  /** `"host:port;host:port"`, as clients take it. */
  readonly namesrv: string;
}

const started: ClusterProcess[] = [];

afterEachTest(async () => {
  await Promise.all(started.splice(0).map((child) => child.kill()));
});

export async function startTestCluster(options: { brokerExpiryMs?: number } = {}): Promise<TestCluster> {
  const namesrvs = await Promise.all([0, 1].map(() => startNamesrvProcess({ brokerExpiryMs: options.brokerExpiryMs })));
  started.push(...namesrvs);
  const addresses = namesrvs.map((namesrv) => namesrv.address);
  const brokers = await Promise.all(["broker-a", "broker-b"].map((brokerName) => startBrokerProcess({ namesrv: addresses, brokerName, brokerExpiryMs: options.brokerExpiryMs })));
  started.push(...brokers);
  await Promise.all(brokers.map((broker) => broker.waitReady()));
  for (const address of addresses) {
    await waitUntil(`NameServer ${address} to list both brokers`, async () => {
      const admin = new Admin({ namesrv: address });
      try {
        return (await admin.clusterInfo()).brokers.length === 2;
      } finally {
        await admin.close();
      }
    });
  }
  return { namesrvs, brokers, namesrv: addresses.join(";") };
}

/** Polls an async condition every 20 ms until it holds; fails after `timeoutMs`. */
export async function waitUntil(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = waitTimeoutMs): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await condition()) return;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${lastError === undefined ? "" : `: ${(lastError as Error).message}`}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The port a message was stored on, from its offsetMsgId (ip 8 hex, port 8 hex, offset 16 hex). */
export function storePort(offsetMsgId: string): number {
  return Number.parseInt(offsetMsgId.slice(8, 16), 16);
}
