/** Semaphore: bounded permits, FIFO waiters, abortable waits. */

import { describe, expect, test } from "bun:test";
import { isMqError } from "../../../src/common/errors.ts";
import { Semaphore } from "../../../src/client/semaphore.ts";

describe("Semaphore", () => {
  test("grants up to its permits, then queues callers in order", async () => {
    const semaphore = new Semaphore(2);
    await semaphore.acquire();
    await semaphore.acquire();
    const order: number[] = [];
    const third = semaphore.acquire().then(() => order.push(3));
    const fourth = semaphore.acquire().then(() => order.push(4));
    expect(semaphore.waiting).toBe(2);
    semaphore.release();
    await third;
    semaphore.release();
    await fourth;
    expect(order).toEqual([3, 4]);
    expect(semaphore.inUse).toBe(2);
  });

  test("an aborted wait leaves the queue and rejects with ABORTED", async () => {
    const semaphore = new Semaphore(1);
    await semaphore.acquire();
    const controller = new AbortController();
    const waiting = semaphore.acquire(controller.signal);
    controller.abort();
    const error = await waiting.then(() => undefined, (caught: unknown) => caught);
    expect(isMqError(error, "ABORTED")).toBe(true);
    expect(semaphore.waiting).toBe(0);
    semaphore.release();
    expect(semaphore.inUse).toBe(0);
  });

  test("whenIdle resolves once every permit is back", async () => {
    const semaphore = new Semaphore(3);
    await semaphore.acquire();
    await semaphore.acquire();
    let idle = false;
    const waiting = semaphore.whenIdle().then(() => (idle = true));
    semaphore.release();
    await Promise.resolve();
    expect(idle).toBe(false);
    semaphore.release();
    await waiting;
    expect(idle).toBe(true);
  });
});
