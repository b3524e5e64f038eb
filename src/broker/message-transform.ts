/**
 * Transforms: the named place where a feature rewrites a message between validation and append
 * (DESIGN §14). Scheduled delivery moves a delayed message to the timer topic and keeps its real
 * topic and queue as properties; a transaction marks a half message; retry and dedup do likewise.
 * The message service applies its transforms in order to every message, TCP, REST or in-process,
 * so each feature is written once. A transform returns the message to append: the same object,
 * changed, or a new one. It throws a catalogue error to refuse the message.
 */

import type { PutMessageInput } from "../store/put-message.ts";

/** What a sender asks to store: the store's input plus what the sender asked of delivery. */
export interface OutgoingRecord extends PutMessageInput {
  /** 1.. a delay level; 0 or absent: at once. */
  delayLevel?: number;
  /** An exact delivery time, ms since the epoch. */
  deliverAtMs?: number;
  /** A prepared (half) transactional message. */
  transactionPrepared?: boolean;
}

export type MessageTransform = (message: OutgoingRecord) => OutgoingRecord;
