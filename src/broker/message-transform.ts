/**
 * Transforms: the named place where a feature rewrites a message between validation and append
 * (DESIGN §14). Scheduled delivery moves a delayed message to the timer topic and keeps its real
 * topic and queue as properties; a transaction marks a half message; retry and dedup do likewise.
 * The message service applies its transforms in order to every message, TCP, REST or in-process,
 * so each feature is written once. A transform returns the message to append: the same object,
 * changed, or a new one. It throws a catalogue error to refuse the message.
 */

import type { PutMessageInput, PutOk } from "../store/put-message.ts";

/** What a sender asks to store: the store's input plus what the sender asked of delivery. */
export interface OutgoingRecord extends PutMessageInput {
  /** 1.. a delay level; 0 or absent: at once. */
  delayLevel?: number;
  /** An exact delivery time, ms since the epoch; wins over delayMs and delayLevel. */
  deliverAtMs?: number;
  /** A delay the broker turns into a delivery time (its clock, not the sender's); wins over delayLevel. */
  delayMs?: number;
  /** Set by the scheduled-delivery transform: what the send result says about delivery. */
  delivery?: Delivery;
  /** A prepared (half) transactional message. */
  transactionPrepared?: boolean;
  /** What the dedup window knows the message by instead of its msgId (stored as DEDUP_KEY). */
  dedupKey?: string;
  /** The sender's producer group: a half message is checked back with it. */
  producerGroup?: string;
}

export type MessageTransform = (message: OutgoingRecord) => OutgoingRecord;

/** When a message asking for a delivery time is delivered. */
export interface Delivery {
  /** The delivery time, ms since the epoch. */
  readonly deliverAtMs: number;
  /** false: the time had already passed, and the message was delivered at once. */
  readonly scheduled: boolean;
}

/** The store's result of a send, with what happened to a requested delivery time. */
export type SendOk = PutOk & { readonly delivery?: Delivery; readonly duplicate?: Duplicate };

/**
 * A send the dedup window found stored already: the result's offsets are the original's, and
 * so are its msgId and queue (a dedupKey send may differ in both, an SDK retry in its queue).
 */
export interface Duplicate {
  readonly msgId: string;
  readonly queueId: number;
}
