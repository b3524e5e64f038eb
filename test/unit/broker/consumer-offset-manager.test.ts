/**
 * Consumer offsets are kept for a bounded number of groups: a commit from an unknown group
 * creates it only below the cap (a clear GROUP_LIMIT_REACHED past it), while groups that already
 * have offsets, and groups with live members (created by their heartbeat), always commit.
 */

import { describe, expect, test } from "bun:test";
import { ConsumerOffsetManager } from "../../../src/broker/consumer-offset-manager.ts";
import { ManualClock } from "../../../src/common/clock.ts";
import { isMqError } from "../../../src/common/errors.ts";
import { silentLogger } from "../../../src/common/logger.ts";
import { queueOffset } from "../../../src/common/offsets.ts";
import { errorOf } from "../../helpers/error-of.ts";
import { makeTempDir } from "../../helpers/temp-dir.ts";

function manager(live: ReadonlySet<string> = new Set(), dataDir = makeTempDir("mq-offsets-")) {
  return new ConsumerOffsetManager({ dataDir, persistIntervalMs: 5_000, clock: new ManualClock(), logger: silentLogger, groupsMax: 3, isLive: (group) => live.has(group) });
}

describe("ConsumerOffsetManager: the group cap", () => {
  test("a commit from a fourth unknown group is refused with GROUP_LIMIT_REACHED; known groups go on", () => {
    const offsets = manager();
    for (const group of ["a", "b", "c"]) offsets.commit(group, "Orders", 0, queueOffset(1));
    const error = errorOf(() => offsets.commit("typo", "Orders", 0, queueOffset(1)));
    expect(isMqError(error, "GROUP_LIMIT_REACHED")).toBe(true);
    expect((error as Error).message).toBe('Cannot create consumer group "typo" by an offset commit: 3 groups have offsets, limit is 3');
    expect(offsets.query("typo", "Orders", 0)).toBe(-1);
    offsets.commit("a", "Payments", 2, queueOffset(7)); // a known group may add topics
    expect(offsets.query("a", "Payments", 2)).toBe(queueOffset(7));
    expect([...offsets.groups()].sort()).toEqual(["a", "b", "c"]);
  });

  test("a group with live members (it heartbeats) commits past the cap", () => {
    const offsets = manager(new Set(["members"]));
    for (const group of ["a", "b", "c"]) offsets.commit(group, "Orders", 0, queueOffset(1));
    offsets.commit("members", "Orders", 0, queueOffset(5));
    expect(offsets.query("members", "Orders", 0)).toBe(queueOffset(5));
  });

  test("deleting a topic frees the groups that had offsets only there", () => {
    const offsets = manager();
    for (const group of ["a", "b", "c"]) offsets.commit(group, group === "a" ? "Keep" : "Drop", 0, queueOffset(1));
    offsets.removeTopic("Drop");
    expect([...offsets.groups()]).toEqual(["a"]);
    offsets.commit("new", "Keep", 0, queueOffset(1));
    expect(offsets.query("new", "Keep", 0)).toBe(queueOffset(1));
  });

  test("groups loaded from disk count toward the cap and are all kept", async () => {
    const dataDir = makeTempDir("mq-offsets-");
    const first = new ConsumerOffsetManager({ dataDir, persistIntervalMs: 5_000, clock: new ManualClock(), logger: silentLogger, groupsMax: 10 });
    for (const group of ["a", "b", "c", "d"]) first.commit(group, "Orders", 0, queueOffset(1));
    await first.stop();
    const second = manager(new Set(), dataDir);
    expect([...second.groups()].sort()).toEqual(["a", "b", "c", "d"]);
    expect(isMqError(errorOf(() => second.commit("e", "Orders", 0, queueOffset(1))), "GROUP_LIMIT_REACHED")).toBe(true);
  });
});
