/** ManualClock: time moves only when told to, and due timers fire in order inside advance. */

import { describe, expect, test } from "bun:test";
import { ManualClock, systemClock } from "../../../src/common/clock.ts";

describe("ManualClock", () => {
  test("starts at the given time and reads the same wall and monotonic time", () => {
    const clock = new ManualClock(1_000);
    expect(clock.nowMs()).toBe(1_000);
    expect(clock.monotonicMs()).toBe(1_000);
  });

  test("starts at 2026-01-01 UTC by default", () => {
    expect(new ManualClock().nowMs()).toBe(Date.UTC(2026, 0, 1));
  });

  test("does not move unless advanced", () => {
    const clock = new ManualClock(0);
    let fired = 0;
    clock.setTimeout(() => fired++, 10);
    expect(clock.nowMs()).toBe(0);
    expect(fired).toBe(0);
  });

  test("advance moves time forward by the delta", () => {
    const clock = new ManualClock(100);
    clock.advance(25);
    expect(clock.nowMs()).toBe(125);
    expect(clock.monotonicMs()).toBe(125);
  });

  test("fires due timers in due order, each seeing its own due time, inside one advance", () => {
    const clock = new ManualClock(0);
    const fired: [string, number][] = [];
    clock.setTimeout(() => fired.push(["c", clock.nowMs()]), 30);
    clock.setTimeout(() => fired.push(["a", clock.nowMs()]), 10);
    clock.setTimeout(() => fired.push(["b", clock.nowMs()]), 20);
    clock.setTimeout(() => fired.push(["late", clock.nowMs()]), 100);
    clock.advance(50);
    expect(fired).toEqual([
      ["a", 10],
      ["b", 20],
      ["c", 30],
    ]);
    expect(clock.nowMs()).toBe(50);
  });

  test("fires timers due at the same time in the order they were set", () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    for (let index = 0; index < 5; index++) clock.setTimeout(() => fired.push(index), 10);
    clock.advance(10);
    expect(fired).toEqual([0, 1, 2, 3, 4]);
  });

  test("fires a timer exactly at its due time, not before", () => {
    const clock = new ManualClock(0);
    let fired = 0;
    clock.setTimeout(() => fired++, 10);
    clock.advance(9);
    expect(fired).toBe(0);
    clock.advance(1);
    expect(fired).toBe(1);
  });

  test("fires a one-shot timer only once", () => {
    const clock = new ManualClock(0);
    let fired = 0;
    clock.setTimeout(() => fired++, 5);
    clock.advance(10);
    clock.advance(100);
    expect(fired).toBe(1);
  });

  test("fires a zero-delay timer on advance(0)", () => {
    const clock = new ManualClock(0);
    let fired = 0;
    clock.setTimeout(() => fired++, 0);
    clock.advance(0);
    expect(fired).toBe(1);
  });

  test("fires a timer set from inside a callback in the same advance when it falls due", () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.nowMs());
      clock.setTimeout(() => fired.push(clock.nowMs()), 5);
    }, 10);
    clock.advance(20);
    expect(fired).toEqual([10, 15]);
  });

  test("repeats an interval at each multiple of its period", () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    clock.setInterval(() => fired.push(clock.nowMs()), 10);
    clock.advance(35);
    expect(fired).toEqual([10, 20, 30]);
    clock.advance(5);
    expect(fired).toEqual([10, 20, 30, 40]);
  });

  test("interleaves intervals and timeouts by due time", () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    clock.setInterval(() => fired.push(`i${clock.nowMs()}`), 10);
    clock.setTimeout(() => fired.push(`t${clock.nowMs()}`), 15);
    clock.advance(30);
    expect(fired).toEqual(["i10", "t15", "i20", "i30"]);
  });

  test("treats a zero interval as 1 ms so advance terminates", () => {
    const clock = new ManualClock(0);
    let fired = 0;
    clock.setInterval(() => fired++, 0);
    clock.advance(5);
    // Due at 0, then 1..5.
    expect(fired).toBe(6);
  });

  test("cancel stops a timeout before it fires", () => {
    const clock = new ManualClock(0);
    let fired = 0;
    const handle = clock.setTimeout(() => fired++, 10);
    handle.cancel();
    clock.advance(100);
    expect(fired).toBe(0);
  });

  test("cancel stops an interval, also from inside its own callback", () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    const handle = clock.setInterval(() => {
      fired.push(clock.nowMs());
      if (fired.length === 3) handle.cancel();
    }, 10);
    clock.advance(100);
    expect(fired).toEqual([10, 20, 30]);
  });

  test("cancel of one timer leaves the others", () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push("a"), 10);
    const b = clock.setTimeout(() => fired.push("b"), 10);
    clock.setTimeout(() => fired.push("c"), 10);
    b.cancel();
    clock.advance(10);
    expect(fired).toEqual(["a", "c"]);
  });

  test("a callback can cancel a later timer due in the same advance", () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    let later: { cancel(): void } | undefined;
    clock.setTimeout(() => {
      fired.push("first");
      later?.cancel();
    }, 5);
    later = clock.setTimeout(() => fired.push("later"), 10);
    clock.advance(20);
    expect(fired).toEqual(["first"]);
  });

  test("cancel twice, and cancel after firing, are harmless", () => {
    const clock = new ManualClock(0);
    let fired = 0;
    const handle = clock.setTimeout(() => fired++, 1);
    clock.advance(1);
    handle.cancel();
    handle.cancel();
    clock.setTimeout(() => fired++, 1);
    clock.advance(1);
    expect(fired).toBe(2);
  });

  test("set() jumps to an absolute time, firing what falls due on the way", () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.nowMs()), 40);
    clock.setInterval(() => fired.push(clock.nowMs()), 25);
    clock.set(60);
    expect(clock.nowMs()).toBe(60);
    expect(fired).toEqual([25, 40, 50]);
  });

  test("set() to an earlier time does not move time backwards", () => {
    const clock = new ManualClock(100);
    clock.set(50);
    expect(clock.nowMs()).toBe(100);
  });
});

describe("systemClock", () => {
  test("reads a wall time close to Date.now", () => {
    expect(Math.abs(systemClock.nowMs() - Date.now())).toBeLessThan(1_000);
  });

  test("cancel stops a real timeout", async () => {
    let fired = false;
    systemClock.setTimeout(() => (fired = true), 1).cancel();
    // Wait for a later timer instead of sleeping a guessed amount.
    await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 5));
    expect(fired).toBe(false);
  });
});
