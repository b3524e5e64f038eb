/**
 * Events the broker publishes on the in-process bus, beside the store's "message.stored": what
 * happened to a message that the store alone does not see. The trace writer (trace-writer.ts)
 * turns them into trace hops; anything else in the process may listen too. Dispatch is
 * synchronous: a listener must be quick and must not call back into the broker.
 */

import type { QueueOffset } from "../common/offsets.ts";
import type { StoreEvents } from "../store/store-options.ts";
import type { TransactionEvents } from "./transaction-events.ts";

export type BrokerEvents = {
  /** A pop handed a message out (first delivery or a re-delivery). */
  "message.popped": {
    group: string;
    topic: string;
    msgId: string | undefined;
    keys: readonly string[];
    queueId: number;
    queueOffset: QueueOffset;
    /** 1 on the first delivery. */
    attempt: number;
    invisibleUntilMs: number;
  };
  /** A popped message was acked. */
  "message.acked": { group: string; topic: string; msgId: string | undefined; queueId: number; queueOffset: QueueOffset };
  /** A DLQ entry was resent: `msgId` is the entry's (the message that failed), `newMsgId` the copy's. */
  "message.redriven": { group: string; msgId: string; newMsgId: string; topic: string };
};

/** The bus a broker publishes and listens on. */
export type BrokerBusEvents = StoreEvents & BrokerEvents & TransactionEvents;
