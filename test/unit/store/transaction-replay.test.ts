/**
 * The store's transaction dispatcher across a crash (issue 12, item 5): replay hands the broker
 * every half message it finds no outcome of, and forgets a half when it meets its outcome — the
 * committed message (sysFlag commit, preparedTransactionOffset = the half's offset: a commit
 * writes nothing else), or a state record keyed by the half's offset (a rollback's; older logs
 * hold one for commits too).
 */

import { afterAll, describe, expect, test } from "bun:test";
import { sysFlag } from "../../../src/common/message-record.ts";
import { propertyNames } from "../../../src/common/message-properties.ts";
import { offsetHex } from "../../../src/common/ids.ts";
import { systemTopics } from "../../../src/common/system-topics.ts";
import type { PreparedRecord, TransactionSink } from "../../../src/store/dispatch/transaction-dispatcher.ts";
import { MessageStore } from "../../../src/store/message-store.ts";
import type { PutMessageInput } from "../../../src/store/put-message.ts";
import { killStore } from "../../helpers/store-crash.ts";
import { removeTempDirs } from "../../helpers/temp-dir.ts";
import { tinyStoreOptions } from "../../helpers/tiny-store.ts";

afterAll(removeTempDirs);

const encoder = new TextEncoder();

function msgIdOf(index: number): string {
  return index.toString(16).toUpperCase().padStart(32, "0");
}

function half(index: number): PutMessageInput {
  const properties = { [propertyNames.realTopic]: "Orders", [propertyNames.realQueueId]: "0", [propertyNames.transactionPrepared]: "true", [propertyNames.producerGroup]: "shop" };
  return { topic: systemTopics.transactionHalf, queueId: 0, body: encoder.encode(`half-${index}`), msgId: msgIdOf(index), properties, sysFlag: sysFlag.transactionPrepared };
}

function committed(index: number, halfOffset: number): PutMessageInput {
  return { topic: "Orders", queueId: 0, body: encoder.encode(`half-${index}`), msgId: msgIdOf(index), sysFlag: sysFlag.transactionCommit, preparedTransactionOffset: halfOffset };
}

function stateRecord(resolution: "commit" | "rollback", halfOffset: number): PutMessageInput {
  return { topic: systemTopics.transactionOperations, queueId: 0, body: encoder.encode(`${resolution} ${halfOffset}`), tags: resolution, keys: [offsetHex(halfOffset as never)] };
}

function put(store: MessageStore, input: PutMessageInput): number {
  const result = store.append(input);
  if (result.status !== "ok") throw new Error(`append failed: ${result.status}`);
  return result.physicalOffset;
}

/** A sink that only records what it is handed. */
function recordingSink(): TransactionSink & { handed: PreparedRecord[] } {
  const handed: PreparedRecord[] = [];
  return { handed, prepared: (record) => void handed.push(record), keepFrom: () => undefined, sync: () => undefined };
}

describe("transaction replay after a crash", () => {
  test("a half whose committed message was written is not handed back; one without an outcome is; a rolled-back one is not", async () => {
    const options = tinyStoreOptions();
    const store = await MessageStore.open(options);
    // The first record of the log: a half at CommitLog offset 0 is named by its copy all the same.
    const committedHalf = put(store, half(0));
    const pendingHalf = put(store, half(1));
    const rolledBackHalf = put(store, half(2));
    const legacyHalf = put(store, half(3));
    expect(committedHalf).toBe(0);
    put(store, committed(0, committedHalf));
    put(store, stateRecord("rollback", rolledBackHalf));
    // A log from before commits stopped writing a state record: the copy and a commit record.
    put(store, committed(3, legacyHalf));
    put(store, stateRecord("commit", legacyHalf));
    killStore(store);
    const reopened = await MessageStore.open(options);
    try {
      const sink = recordingSink();
      expect(reopened.attachTransactions(sink)).toBe(1);
      expect(sink.handed.map((record) => [record.physicalOffset as number, record.msgId])).toEqual([[pendingHalf, msgIdOf(1)]]);
    } finally {
      await reopened.close();
    }
  });

  test("a half whose committed message was lost with the log's tail is handed back", async () => {
    const options = tinyStoreOptions();
    const store = await MessageStore.open(options);
    const halfOffset = put(store, half(7));
    const copyOffset = put(store, committed(7, halfOffset));
    // As a torn tail leaves it: the copy's bytes never reached the disk.
    store.commitLog.rollbackTo(copyOffset as never);
    killStore(store);
    const reopened = await MessageStore.open(options);
    try {
      const sink = recordingSink();
      expect(reopened.attachTransactions(sink)).toBe(1);
      expect(sink.handed.map((record) => record.physicalOffset as number)).toEqual([halfOffset]);
    } finally {
      await reopened.close();
    }
  });
});
