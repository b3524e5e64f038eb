/**
 * Benchmark of the wire layer (not a test; run `bun test/unit/net/net-bench.ts`, meant to move
 * to `scripts/bench-net.ts`). A server in a child process answers requests with an empty
 * response; one client connection measures pipelined throughput with a fixed window and
 * one-in-flight latency. Fixed sizes and counts; prints ops/s, MB/s, p50/p99.
 */

import { connect } from "../src/net/connection.ts";
import { Server } from "../src/net/server.ts";

const ECHO = 900;

if (process.argv[2] === "serve") {
  const server = await Server.listen({ host: "127.0.0.1", port: 0 });
  server.handle(ECHO, () => ({ fields: { ok: true } }));
  console.log(server.port);
  process.stdin.on("data", () => {});
  process.stdin.on("end", () => void server.close().then(() => process.exit(0)));
} else {
  const child = Bun.spawn([process.execPath, import.meta.path, "serve"], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  const port = Number(new TextDecoder().decode(value).trim());
  const connection = await connect({ host: "127.0.0.1", port });

  for (const bodyBytes of [0, 128, 1024]) {
    const body = new Uint8Array(bodyBytes);
    const total = 200_000;
    const window = 1_000;
    let sent = 0;
    let done = 0;
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const pump = () => {
        while (sent < total && sent - done < window) {
          sent++;
          connection.request({ code: ECHO, fields: { topic: "bench", queueId: 1 }, body }).then(() => {
            done++;
            if (done === total) resolve();
            else pump();
          }, reject);
        }
      };
      pump();
    });
    const seconds = (performance.now() - started) / 1000;
    console.log(`pipelined, ${bodyBytes} B body, window ${window}: ${Math.round(total / seconds)} req/s, ${((total * bodyBytes) / seconds / 1e6).toFixed(1)} MB/s`);
  }

  const latencies: number[] = [];
  for (let index = 0; index < 20_000; index++) {
    const started = performance.now();
    await connection.request({ code: ECHO, fields: { topic: "bench", queueId: 1 } });
    latencies.push((performance.now() - started) * 1000);
  }
  latencies.sort((a, b) => a - b);
  const at = (fraction: number) => latencies[Math.floor(latencies.length * fraction)]!.toFixed(0);
  console.log(`one in flight: p50 ${at(0.5)} µs, p99 ${at(0.99)} µs (baseline: loopback TCP round trip ~30 µs p50)`);

  connection.close();
  child.stdin.end();
  await child.exited;
}
