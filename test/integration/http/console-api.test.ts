import { describe, expect, test } from "bun:test";
import { PushConsumer } from "../../../src/client/push-consumer.ts";
import { mqVersion } from "../../../src/version.ts";
import { startHttpBroker } from "./helpers.ts";
import { waitUntil } from "../../helpers/wait-for.ts";

describe("REST: what the console uses", () => {
  test("GET /console/settings names the version, read-only and a CSRF token", async () => {
    const h = await startHttpBroker();
    const { status, json } = await h.call("GET", "/api/v1/console/settings");
    expect(status).toBe(200);
    expect(json).toEqual({ version: "test", readOnly: false, csrfToken: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  });

  test("GET / serves the console page, and its script and style at the paths the page names", async () => {
    const h = await startHttpBroker();
    const page = await h.text("/");
    expect(page.status).toBe(200);
    expect(page.text).toContain("<title>mq console</title>");
    const assets = [...page.text.matchAll(/(?:src|href)="(\/[^"]+\.(?:js|css))"/g)].map((match) => match[1]!);
    expect(assets.length).toBe(2);
    for (const asset of assets) expect({ asset, status: (await h.text(asset)).status }).toEqual({ asset, status: 200 });
  });

  test("GET /groups/{group} lists each member with its host, the SDK version its heartbeat names, and its subscriptions", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics", { topic: "orders", queues: 1 });
    const consumer = new PushConsumer({ broker: h.broker.address, group: "billing", trace: false });
    try {
      consumer.subscribe("orders", "paid");
      await consumer.start(() => undefined);
      const { status, json } = await h.call("GET", "/api/v1/groups/billing");
      expect(status).toBe(200);
      // Besides "orders", the SDK subscribes to the group's retry topic.
      expect(json.members).toEqual([
        { clientId: json.clientIds[0], host: expect.stringMatching(/^127\.0\.0\.1:\d+$/), version: mqVersion, subscriptions: expect.arrayContaining([{ topic: "orders", expressionType: "TAG", expression: "paid" }]) },
      ]);
      const openapi = (await h.call("GET", "/api/v1/openapi.json")).json;
      const member = openapi.paths["/api/v1/groups/{group}"].get.responses["200"].content["application/json"].schema.properties.members.items;
      expect(Object.keys(member.properties).sort()).toEqual(["clientId", "host", "subscriptions", "version"]);
    } finally {
      await consumer.shutdown();
    }
  });

  test("PUT /topics/{topic} changes queues and perm, keeping what is left out", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics", { topic: "orders", queues: 2 });
    const grown = await h.call("PUT", "/api/v1/topics/orders", { queues: 5 });
    expect(grown.status).toBe(200);
    expect({ read: grown.json.readQueues, write: grown.json.writeQueues, perm: grown.json.perm, queues: grown.json.queues.length }).toEqual({ read: 5, write: 5, perm: 6, queues: 5 });
    const readOnlyTopic = await h.call("PUT", "/api/v1/topics/orders", { perm: 4 });
    expect({ perm: readOnlyTopic.json.perm, read: readOnlyTopic.json.readQueues }).toEqual({ perm: 4, read: 5 });
    expect((await h.call("PUT", "/api/v1/topics/nothing", { perm: 6 })).json.code).toBe(2001);
    expect((await h.call("PUT", "/api/v1/topics/orders", { queues: 0 })).json.details.field).toBe("queues");
  });

  test("browse by time, up to a time and by tag: the cursor moves past what is left out", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics", { topic: "orders", queues: 1 });
    await h.call("POST", "/api/v1/topics/orders/messages", [{ body: "a", tags: "red" }, { body: "b", tags: "blue" }]);
    const first = await h.call("GET", "/api/v1/topics/orders/queues/0/messages?max=10");
    const [a, b] = first.json.messages;
    expect({ bodies: first.json.messages.map((message: { body: string }) => message.body), done: first.json.done }).toEqual({ bodies: ["a", "b"], done: true });
    await Bun.sleep(2); // the next send gets a later store time
    await h.call("POST", "/api/v1/topics/orders/messages", { body: "c", tags: "red" });
    const c = (await h.call("GET", "/api/v1/topics/orders/queues/0/messages?offset=2")).json.messages[0];
    expect(c.storeTimestampMs).toBeGreaterThan(b.storeTimestampMs);

    const fromC = await h.call("GET", `/api/v1/topics/orders/queues/0/messages?from=${c.storeTimestampMs}`);
    expect(fromC.json.messages.map((message: { body: string }) => message.body)).toEqual(["c"]);
    const untilC = await h.call("GET", `/api/v1/topics/orders/queues/0/messages?from=${new Date(a.storeTimestampMs).toISOString()}&to=${c.storeTimestampMs}`);
    expect({ bodies: untilC.json.messages.map((message: { body: string }) => message.body), next: untilC.json.nextOffset, done: untilC.json.done }).toEqual({ bodies: ["a", "b"], next: 2, done: true });
    const red = await h.call("GET", "/api/v1/topics/orders/queues/0/messages?tags=red&max=2");
    expect({ bodies: red.json.messages.map((message: { body: string }) => message.body), next: red.json.nextOffset, done: red.json.done }).toEqual({ bodies: ["a"], next: 2, done: false });
    const redAfter = await h.call("GET", `/api/v1/topics/orders/queues/0/messages?tags=red&offset=${red.json.nextOffset}`);
    expect(redAfter.json.messages.map((message: { body: string }) => message.body)).toEqual(["c"]);
    expect((await h.call("GET", "/api/v1/topics/orders/queues/0/messages?tags=a||")).json.details.field).toBe("tags");
  });

  test("browse by SQL92 filter over properties, evaluated by the broker's filter module", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics", { topic: "orders", queues: 1 });
    await h.call("POST", "/api/v1/topics/orders/messages", [
      { body: "eu cheap", properties: { region: "eu", price: "10" } },
      { body: "eu dear", properties: { region: "eu", price: "50" } },
      { body: "us dear", properties: { region: "us", price: "70" } },
    ]);
    const sql = encodeURIComponent("region = 'eu' AND price > 30");
    const page = await h.call("GET", `/api/v1/topics/orders/queues/0/messages?sql=${sql}`);
    expect({ bodies: page.json.messages.map((message: { body: string }) => message.body), next: page.json.nextOffset }).toEqual({ bodies: ["eu dear"], next: 3 });
    expect((await h.call("GET", `/api/v1/topics/orders/queues/0/messages?sql=${encodeURIComponent("price >")}`)).json.code).toBe(1020);
    expect((await h.call("GET", `/api/v1/topics/orders/queues/0/messages?sql=${sql}&tags=a`)).json.details.field).toBe("sql");
  });

  test("GET /metrics/series keeps per-second samples of messages in and send latency, and per-topic rates", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics/orders/messages", [{ body: "a" }, { body: "b" }, { body: "c" }]);
    let samples: Array<{ timeMs: number; inPerSecond: number; sendLatencyMsMean?: number; storeBytes?: number }> = [];
    await waitUntil("a sample with the sends", async () => {
      samples = (await h.call("GET", "/api/v1/metrics/series")).json.samples;
      return samples.some((sample) => sample.inPerSecond > 0);
    }, undefined, 100);
    const busy = samples.find((sample) => sample.inPerSecond > 0)!;
    expect(busy.inPerSecond).toBeGreaterThan(0);
    expect(busy.sendLatencyMsMean).toBeGreaterThan(0);
    expect(busy.storeBytes).toBeGreaterThan(0);
    const later = await h.call("GET", `/api/v1/metrics/series?since=${busy.timeMs}`);
    for (const sample of later.json.samples) expect(sample.timeMs).toBeGreaterThan(busy.timeMs);
  });
});

describe("REST: cross-site requests and the audit log", () => {
  test("a foreign Origin, a cross-site fetch or a POST of a form's content type is refused with 403 CROSS_SITE_REFUSED", async () => {
    const h = await startHttpBroker();
    const host = new URL(h.url).host;
    const refused = [
      await h.call("POST", "/api/v1/topics", { topic: "evil" }, { origin: "http://evil.example" }),
      await h.call("DELETE", "/api/v1/topics/orders", undefined, { origin: "http://localhost:1" }),
      await h.call("POST", "/api/v1/topics", { topic: "evil" }, { "sec-fetch-site": "cross-site" }),
      await h.call("POST", "/api/v1/topics", JSON.stringify({ topic: "evil" }), { "content-type": "text/plain" }),
      await h.call("POST", "/api/v1/topics", JSON.stringify({ topic: "evil" }), { "content-type": "application/x-www-form-urlencoded" }),
      await h.call("POST", "/api/v1/topics", JSON.stringify({ topic: "evil" }), { "content-type": "text/plain", "mq-csrf-token": "guess" }),
    ];
    for (const answer of refused) expect({ status: answer.status, code: answer.json.code }).toEqual({ status: 403, code: 1030 });
    expect((await h.call("GET", "/api/v1/topics")).json.topics.map((topic: { topic: string }) => topic.topic)).not.toContain("evil");

    const token = (await h.call("GET", "/api/v1/console/settings")).json.csrfToken;
    expect((await h.call("POST", "/api/v1/topics", JSON.stringify({ topic: "withToken" }), { "content-type": "text/plain", "mq-csrf-token": token })).status).toBe(201);
    expect((await h.call("POST", "/api/v1/topics", { topic: "sameOrigin" }, { origin: `http://${host}` })).status).toBe(201);
    expect((await h.call("DELETE", "/api/v1/topics/sameOrigin")).status).toBe(200);
    // A POST with no body at all passes (no form can send one; a browser's would carry an Origin).
    const bodyless = await fetch(`${h.url}/api/v1/groups/g/offsets/reset`, { method: "POST" });
    expect(((await bodyless.json()) as { code: number }).code).toBe(1000); // past the guard: the route wants a JSON body
    const bodylessCrossSite = await fetch(`${h.url}/api/v1/groups/g/offsets/reset`, { method: "POST", headers: { origin: "http://evil.example" } });
    expect(((await bodylessCrossSite.json()) as { code: number }).code).toBe(1030);
    // Reads are never refused: a cross-site page cannot read the answer anyway.
    expect((await h.call("GET", "/api/v1/topics", undefined, { origin: "http://evil.example" })).status).toBe(200);
  });

  test("the audit log has each admin mutation with its outcome, refused ones too, and not plain message traffic", async () => {
    const h = await startHttpBroker();
    await h.call("POST", "/api/v1/topics", { topic: "orders", queues: 1 });
    await h.call("POST", "/api/v1/topics/orders/messages", { body: "not audited" });
    await h.call("POST", "/api/v1/topics", { topic: "evil" }, { origin: "http://evil.example" });
    const token = (await h.call("GET", "/api/v1/console/settings")).json.csrfToken;
    await h.call("POST", "/api/v1/topics/orders/messages", { body: "from the console" }, { "mq-csrf-token": token });
    await h.call("DELETE", "/api/v1/topics/orders");
    const { json } = await h.call("GET", "/api/v1/audit");
    const entries = json.entries.map((entry: { method: string; path: string; status: number; code?: number; console: boolean }) => ({ method: entry.method, path: entry.path, status: entry.status, code: entry.code, console: entry.console }));
    expect(entries).toEqual([
      { method: "POST", path: "/api/v1/topics", status: 201, code: undefined, console: false },
      { method: "POST", path: "/api/v1/topics", status: 403, code: 1030, console: false },
      { method: "POST", path: "/api/v1/topics/orders/messages", status: 200, code: undefined, console: true },
      { method: "DELETE", path: "/api/v1/topics/orders", status: 200, code: undefined, console: false },
    ]);
    expect(json.entries[0].body).toBe('{"topic":"orders","queues":1}');
    expect(json.entries[0].remoteAddress).toMatch(/127\.0\.0\.1/);
    const after = await h.call("GET", `/api/v1/audit?after=${json.entries[1].seq}`);
    expect(after.json.entries.map((entry: { seq: number }) => entry.seq)).toEqual([json.entries[2].seq, json.entries[3].seq]);
  });

  test("read-only (consoleReadOnly): every mutating request is 403 CONSOLE_READ_ONLY, reads work, settings say so", async () => {
    const h = await startHttpBroker({ readOnly: true });
    expect((await h.call("GET", "/api/v1/console/settings")).json.readOnly).toBe(true);
    for (const [method, path, body] of [
      ["POST", "/api/v1/topics", { topic: "orders" }],
      ["PUT", "/api/v1/topics/orders", { perm: 4 }],
      ["DELETE", "/api/v1/topics/orders", undefined],
      ["POST", "/api/v1/topics/orders/messages", { body: "x" }],
      ["POST", "/api/v1/groups/g/offsets/reset", { topic: "orders", to: "last" }],
      ["DELETE", "/api/v1/timers/0123456789ABCDEF0123456789ABCDEF", undefined],
    ] as const) {
      const answer = await h.call(method, path, body);
      expect({ path, status: answer.status, code: answer.json.code }).toEqual({ path, status: 403, code: 1031 });
    }
    expect((await h.call("GET", "/api/v1/topics")).status).toBe(200);
    // The refused send is message traffic, not audited; the five admin attempts are.
    expect((await h.call("GET", "/api/v1/audit")).json.entries).toHaveLength(5);
  });
});
