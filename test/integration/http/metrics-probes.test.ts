import { describe, expect, test } from "bun:test";
import { parsePrometheusText } from "../../unit/http/prometheus-text.ts";
import { Producer, PushConsumer } from "../../../src/client/index.ts";
import { checkHeap } from "../../../src/common/heap-valve.ts";
import { startHttpBroker } from "./helpers.ts";
import { waitUntil } from "../../helpers/wait-for.ts";

describe("HTTP probes", () => {
  test("/health answers ok while the process runs", async () => {
    const h = await startHttpBroker();
    const { status, json } = await h.call("GET", "/health");
    expect(status).toBe(200);
    expect(json.status).toBe("ok");
  });

  test("/ready is 200 when every check passes and 503 with per-check details otherwise", async () => {
    let diskOk = true;
    const h = await startHttpBroker({ ready: () => [{ name: "store", ok: true }, { name: "disk", ok: diskOk, detail: diskOk ? "40% used" : "95% used" }] });
    expect((await h.call("GET", "/ready")).status).toBe(200);
    diskOk = false;
    const { status, json } = await h.call("GET", "/ready");
    expect(status).toBe(503);
    expect(json.status).toBe("not_ready");
    expect(json.checks).toContainEqual({ name: "disk", ok: false, detail: "95% used" });
  });
});

describe("/metrics", () => {
  test("parses as Prometheus text and its counters move when messages flow", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics", { topic: "flow", queues: 1 });
    const before = parsePrometheusText((await h.text("/metrics")).text);
    await h.call("POST", "/api/v1/topics/flow/messages", [{ body: "abc" }, { body: "defg" }]);
    const got = (await h.call("POST", "/api/v1/groups/g/receive", { topic: "flow", max: 1 })).json.messages;
    const response = await fetch(`${h.url}/metrics`);
    expect(response.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
    const after = parsePrometheusText(await response.text());
    const value = (samples: typeof after, name: string, labels: Record<string, string> = {}) =>
      samples.find((sample) => sample.name === name && Object.entries(labels).every(([key, text]) => sample.labels[key] === text))?.value ?? 0;
    expect(value(after, "mq_messages_in_total", { topic: "flow" }) - value(before, "mq_messages_in_total", { topic: "flow" })).toBe(2);
    expect(value(after, "mq_bytes_in_total", { topic: "flow" })).toBeGreaterThan(7);
    expect(value(after, "mq_messages_out_total", { topic: "flow", transport: "http" })).toBe(1);
    expect(value(after, "mq_bytes_out_total", { topic: "flow", transport: "http" })).toBe(3);
    expect(value(after, "mq_send_latency_seconds_count", { transport: "http" })).toBe(1);
    expect(value(after, "mq_consumer_lag_messages", { group: "g", topic: "flow", queue: "0" })).toBe(2);
    expect(value(after, "mq_store_size_bytes")).toBeGreaterThan(0);
    expect(after.some((sample) => sample.name === "mq_disk_used_ratio")).toBe(true);
    expect(after.some((sample) => sample.name === "mq_connections" && sample.labels.transport === "tcp")).toBe(true);
    expect(after.some((sample) => sample.name === "mq_long_poll_holds" && sample.labels.kind === "receive")).toBe(true);
    await h.call("POST", "/api/v1/groups/g/ack", { receiptHandles: [got[0].receiptHandle] });
    const acked = parsePrometheusText((await h.text("/metrics")).text);
    expect(value(acked, "mq_consumer_lag_messages", { group: "g", topic: "flow", queue: "0" })).toBe(1);
  });

  test("bytes in count a record that takes no queue offset (a scheduled message's timer record) at its size", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics", { topic: "later", queues: 1 });
    await h.call("POST", "/api/v1/topics/later/messages", [{ body: "abc", delayMs: 3_600_000 }]);
    const samples = parsePrometheusText((await h.text("/metrics")).text);
    const timerBytes = samples.find((sample) => sample.name === "mq_bytes_in_total" && sample.labels.topic === "rmq_sys_wheel_timer")?.value ?? 0;
    // A record is its fixed fields, topic, properties and body: more than the 3 body bytes.
    expect(timerBytes).toBeGreaterThan(3);
  });

  test("TCP sends and pulls move the tcp series of send latency and messages out", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics", { topic: "tcpflow", queues: 1 });
    // Trace off: the clients' trace messages would be TCP sends too.
    const producer = new Producer({ broker: h.broker.address, trace: false });
    await producer.start();
    const consumer = new PushConsumer({ broker: h.broker.address, group: "tcpgroup", consumeFromWhere: "first", trace: false });
    try {
      for (const body of ["a", "bb", "ccc"]) await producer.send({ topic: "tcpflow", body });
      consumer.subscribe("tcpflow");
      let received = 0;
      await consumer.start(() => void (received += 1));
      await waitUntil("the 3 messages", () => received === 3);
      const samples = parsePrometheusText((await h.text("/metrics")).text);
      const value = (name: string, labels: Record<string, string>) =>
        samples.find((sample) => sample.name === name && Object.entries(labels).every(([key, text]) => sample.labels[key] === text))?.value ?? 0;
      expect(value("mq_send_latency_seconds_count", { transport: "tcp" })).toBe(3);
      expect(value("mq_messages_out_total", { topic: "tcpflow", transport: "tcp" })).toBe(3);
      expect(value("mq_bytes_out_total", { topic: "tcpflow", transport: "tcp" })).toBeGreaterThan(6);
    } finally {
      await consumer.shutdown();
      await producer.shutdown();
    }
  });

  test("reports the process's pauses: a blocked event loop as a stall, a forced collection, the heap in use", async () => {
    const h = await startHttpBroker();
    const value = async (name: string) => parsePrometheusText((await h.text("/metrics")).text).find((sample) => sample.name === name)?.value;
    const stallsBefore = (await value("mq_event_loop_stalls_total")) ?? Number.NaN;
    const forcedBefore = (await value("mq_heap_forced_collections_total")) ?? Number.NaN;
    const blockedUntil = performance.now() + 50; // holds the loop the way a GC pause does
    while (performance.now() < blockedUntil) {}
    checkHeap(Number.MAX_SAFE_INTEGER); // as if the heap had grown past the valve's bound
    await waitUntil("the stall to be counted", async () => ((await value("mq_event_loop_stalls_total")) ?? 0) > stallsBefore);
    expect((await value("mq_event_loop_stall_max_seconds")) ?? 0).toBeGreaterThanOrEqual(0.01);
    expect(await value("mq_heap_forced_collections_total")).toBe(forcedBefore + 1);
    expect((await value("mq_heap_used_bytes")) ?? 0).toBeGreaterThan(0);
  });

  test("flush latency is observed after each background flush", async () => {
    const h = await startHttpBroker({ store: { flushIntervalMs: 5 } });
    await h.call("POST", "/api/v1/topics/t/messages", { body: "x" });
    const count = async () => parsePrometheusText((await h.text("/metrics")).text).find((sample) => sample.name === "mq_store_flush_latency_seconds_count")?.value ?? 0;
    await waitUntil("a background flush to be observed", async () => (await count()) > 0);
  });
});

describe("/api/v1/openapi.json", () => {
  test("is an OpenAPI 3.1 document naming every endpoint, with request schemas from zod", async () => {
    const h = await startHttpBroker();
    const { status, json } = await h.call("GET", "/api/v1/openapi.json");
    expect(status).toBe(200);
    expect(json.openapi).toBe("3.1.0");
    expect(Object.keys(json.paths).sort()).toEqual([
      "/api/v1/audit",
      "/api/v1/cluster",
      "/api/v1/console/settings",
      "/api/v1/groups",
      "/api/v1/groups/{group}",
      "/api/v1/groups/{group}/ack",
      "/api/v1/groups/{group}/config",
      "/api/v1/groups/{group}/dlq",
      "/api/v1/groups/{group}/dlq/redrive",
      "/api/v1/groups/{group}/nack",
      "/api/v1/groups/{group}/offsets/reset",
      "/api/v1/groups/{group}/receive",
      "/api/v1/messages",
      "/api/v1/messages/{id}",
      "/api/v1/messages/{id}/trace",
      "/api/v1/metrics/series",
      "/api/v1/timers",
      "/api/v1/timers/{msgId}",
      "/api/v1/topics",
      "/api/v1/topics/{topic}",
      "/api/v1/topics/{topic}/messages",
      "/api/v1/topics/{topic}/queues/{queueId}/messages",
      "/api/v1/transactions",
      "/api/v1/transactions/{id}/commit",
      "/api/v1/transactions/{id}/rollback",
    ]);
    const receiveRef = json.paths["/api/v1/groups/{group}/receive"].post.requestBody.content["application/json"].schema.$ref;
    expect(receiveRef).toBe("#/components/schemas/Receive");
    const receive = json.components.schemas.Receive;
    expect(receive.properties.invisibleMs.maximum).toBe(12 * 60 * 60 * 1000);
    expect(receive.additionalProperties).toBe(false);
    const browse = json.paths["/api/v1/topics/{topic}/queues/{queueId}/messages"].get.parameters.map((parameter: { name: string }) => parameter.name);
    expect(browse).toEqual(["topic", "queueId", "encoding", "offset", "from", "to", "tags", "sql", "max", "broker"]);
    // Every reference resolves inside the document.
    for (const ref of JSON.stringify(json).match(/"\$ref":"[^"]+"/g) ?? []) {
      const name = ref.slice(ref.lastIndexOf("/") + 1, -1);
      expect({ ref, found: name in json.components.schemas }).toEqual({ ref, found: true });
    }
  });
});
