/** EventBus: typed, synchronous dispatch; unsubscribe; a throwing listener does not stop the others. */

import { describe, expect, test } from "bun:test";
import { EventBus } from "../../../src/common/bus.ts";

type TestEvents = {
  appended: { physicalOffset: number; bytes: number };
  rolled: string;
  closed: undefined;
};

function collectErrors() {
  const errors: { name: string; error: unknown }[] = [];
  const bus = new EventBus<TestEvents>((name, error) => errors.push({ name, error }));
  return { bus, errors };
}

describe("EventBus", () => {
  test("delivers the payload to listeners of that event only", () => {
    const { bus } = collectErrors();
    const appended: { physicalOffset: number; bytes: number }[] = [];
    const rolled: string[] = [];
    bus.on("appended", (payload) => appended.push(payload));
    bus.on("rolled", (payload) => rolled.push(payload));
    bus.emit("appended", { physicalOffset: 128, bytes: 91 });
    expect(appended).toEqual([{ physicalOffset: 128, bytes: 91 }]);
    expect(rolled).toEqual([]);
  });

  test("dispatches synchronously, before emit returns", () => {
    const { bus } = collectErrors();
    let seen: string | undefined;
    bus.on("rolled", (name) => (seen = name));
    bus.emit("rolled", "00000000000000065536");
    expect(seen).toBe("00000000000000065536");
  });

  test("calls listeners in the order they subscribed", () => {
    const { bus } = collectErrors();
    const order: number[] = [];
    for (let index = 0; index < 4; index++) bus.on("closed", () => order.push(index));
    bus.emit("closed", undefined);
    expect(order).toEqual([0, 1, 2, 3]);
  });

  test("emitting an event with no listeners does nothing", () => {
    const { bus, errors } = collectErrors();
    bus.emit("rolled", "x");
    expect(errors).toEqual([]);
    expect(bus.listenerCount("rolled")).toBe(0);
  });

  test("checks payload types at compile time", () => {
    const { bus } = collectErrors();
    bus.on("appended", (payload) => {
      const offset: number = payload.physicalOffset;
      expect(typeof offset).toBe("number");
    });
    // @ts-expect-error a string is not the appended payload
    bus.emit("appended", "wrong");
    // @ts-expect-error the rolled payload is a string
    bus.on("rolled", (payload: number) => payload);
    // @ts-expect-error no such event
    bus.emit("nosuchevent", undefined);
  });

  test("off removes a listener", () => {
    const { bus } = collectErrors();
    const seen: string[] = [];
    const listener = (name: string) => seen.push(name);
    bus.on("rolled", listener);
    bus.emit("rolled", "a");
    bus.off("rolled", listener);
    bus.emit("rolled", "b");
    expect(seen).toEqual(["a"]);
    expect(bus.listenerCount("rolled")).toBe(0);
  });

  test("the function returned by on unsubscribes that listener only", () => {
    const { bus } = collectErrors();
    const seen: string[] = [];
    const unsubscribe = bus.on("rolled", (name) => seen.push(`first ${name}`));
    bus.on("rolled", (name) => seen.push(`second ${name}`));
    unsubscribe();
    bus.emit("rolled", "x");
    expect(seen).toEqual(["second x"]);
    expect(bus.listenerCount("rolled")).toBe(1);
  });

  test("unsubscribing twice, or a listener never added, is harmless", () => {
    const { bus } = collectErrors();
    const unsubscribe = bus.on("rolled", () => {});
    unsubscribe();
    unsubscribe();
    bus.off("closed", () => {});
    expect(bus.listenerCount("rolled")).toBe(0);
  });

  test("adds the same listener function once", () => {
    const { bus } = collectErrors();
    let calls = 0;
    const listener = () => calls++;
    bus.on("closed", listener);
    bus.on("closed", listener);
    bus.emit("closed", undefined);
    expect(calls).toBe(1);
    expect(bus.listenerCount("closed")).toBe(1);
  });

  test("a listener may unsubscribe itself while being called", () => {
    const { bus } = collectErrors();
    const seen: string[] = [];
    const unsubscribe = bus.on("rolled", (name) => {
      seen.push(`once ${name}`);
      unsubscribe();
    });
    bus.on("rolled", (name) => seen.push(`always ${name}`));
    bus.emit("rolled", "a");
    bus.emit("rolled", "b");
    expect(seen).toEqual(["once a", "always a", "always b"]);
  });

  test("reports a throwing listener with the event name and still runs the others", () => {
    const { bus, errors } = collectErrors();
    const seen: number[] = [];
    const failure = new Error("listener broke");
    bus.on("appended", (payload) => seen.push(payload.physicalOffset));
    bus.on("appended", () => {
      throw failure;
    });
    bus.on("appended", (payload) => seen.push(payload.physicalOffset + 1));
    bus.emit("appended", { physicalOffset: 10, bytes: 1 });
    expect(seen).toEqual([10, 11]);
    expect(errors).toEqual([{ name: "appended", error: failure }]);
  });

  test("reports a listener that throws a non-Error value", () => {
    const { bus, errors } = collectErrors();
    bus.on("rolled", () => {
      throw "plain string";
    });
    bus.emit("rolled", "x");
    expect(errors).toEqual([{ name: "rolled", error: "plain string" }]);
  });

  test("reports to stderr by default instead of throwing from emit", () => {
    const bus = new EventBus<TestEvents>();
    const original = console.error;
    const printed: string[] = [];
    console.error = (...args: unknown[]) => printed.push(args.map(String).join(" "));
    try {
      bus.on("rolled", () => {
        throw new Error("boom");
      });
      expect(() => bus.emit("rolled", "x")).not.toThrow();
    } finally {
      console.error = original;
    }
    expect(printed.length).toBe(1);
    expect(printed[0]).toContain('"rolled"');
    expect(printed[0]).toContain("boom");
  });
});
