import { describe, expect, test } from "bun:test";
import { checkFile, importsOf } from "../../../scripts/check-imports.ts";

describe("check-imports", () => {
  test("finds static, re-export, side-effect and dynamic imports", () => {
    const source = `import { a } from "./a.ts";\nexport { b } from '../b.ts';\nimport "./c.ts";\nconst d = await import("./d.ts");\nimport type { E } from "./e.ts";`;
    expect(importsOf(source)).toEqual(["./a.ts", "../b.ts", "./e.ts", "./c.ts", "./d.ts"].sort((x, y) => source.indexOf(x) - source.indexOf(y)));
  });

  test("accepts imports that flow downward", () => {
    expect(checkFile("broker/send.ts", `import { MessageStore } from "../store/message-store.ts";`)).toEqual([]);
    expect(checkFile("client/producer.ts", `import { Connection } from "../net/connection.ts";`)).toEqual([]);
    expect(checkFile("server.ts", `import { Broker } from "./broker/broker.ts";`)).toEqual([]);
  });

  test("rejects the client importing server code", () => {
    const violations = checkFile("client/producer.ts", `import { MessageStore } from "../store/message-store.ts";`);
    expect(violations.map((violation) => violation.reason)).toEqual([expect.stringContaining("client/ must not import store/")]);
  });

  test("rejects the store importing the network, by module or by built-in", () => {
    expect(checkFile("store/commit-log.ts", `import { x } from "../net/server.ts";`).length).toBe(1);
    expect(checkFile("store/commit-log.ts", `import { connect } from "node:net";`).length).toBe(1);
  });

  test("rejects an upward import that would make a cycle", () => {
    expect(checkFile("store/commit-log.ts", `import { Broker } from "../broker/broker.ts";`).length).toBe(1);
    expect(checkFile("common/bus.ts", `import { x } from "../store/x.ts";`).length).toBe(1);
  });
});
