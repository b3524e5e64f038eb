/**
 * What a SimpleConsumer receives: a message plus what settles it — its receipt handle, until when
 * it stays hidden from the group's other consumers, and which delivery this is.
 *
 * A broker's receipt handle names a message only on that broker, and a topic can span brokers;
 * so the handle handed to users carries the topic and the broker (group) name as well:
 *
 *   <topic>~<brokerName>~<broker's handle>
 *
 * `~` occurs in none of the three (topic and broker names match `^[%|a-zA-Z0-9_-]+$` or are a
 * `host:port`; broker handles are `[0-9a-z.]`), so any holder of the string — another consumer
 * of the group, a REST client — can ack it without knowing where it came from.
 */

import { MqError } from "../common/errors.ts";
import type { StoredMessage } from "../common/message-record.ts";
import { ConsumedMessage, type ReceivedMessage } from "./message.ts";

export interface SimpleMessage extends ReceivedMessage {
  /** Settles the message (`ack`) or moves its deadline (`changeInvisibleTime`, which renews it). */
  readonly receiptHandle: string;
  /** Broker clock, ms since the epoch: un-acked by then, the message is delivered again. */
  readonly invisibleUntilMs: number;
  /** 1 on the first delivery, one more on each re-delivery. */
  readonly deliveryAttempt: number;
  /** The broker (group) that handed it out; in single-broker mode its address. */
  readonly brokerName: string;
}

export interface ReceiptHandleParts {
  readonly topic: string;
  readonly brokerName: string;
  readonly brokerHandle: string;
}

const separator = "~";

export function encodeReceiptHandle(parts: ReceiptHandleParts): string {
  return `${parts.topic}${separator}${parts.brokerName}${separator}${parts.brokerHandle}`;
}

/** The parts of a SimpleConsumer handle; anything else is RECEIPT_HANDLE_INVALID, as the broker says of unknown ones. */
export function decodeReceiptHandle(handle: string): ReceiptHandleParts {
  const parts = handle.split(separator);
  if (parts.length !== 3 || parts.some((part) => part.length === 0)) throw new MqError("RECEIPT_HANDLE_INVALID", { handle: handle.slice(0, 64) });
  return { topic: parts[0]!, brokerName: parts[1]!, brokerHandle: parts[2]! };
}

export class PoppedMessage extends ConsumedMessage implements SimpleMessage {
  /** Written again by changeInvisibleTime: the broker issues a new handle and deadline. */
  receiptHandle: string;
  invisibleUntilMs: number;
  readonly deliveryAttempt: number;
  override readonly brokerName: string;

  constructor(stored: StoredMessage, settle: { receiptHandle: string; invisibleUntilMs: number; deliveryAttempt: number; brokerName: string; brokerAddress?: string }) {
    super(stored, settle.brokerAddress === undefined ? undefined : { brokerName: settle.brokerName, brokerAddress: settle.brokerAddress });
    this.receiptHandle = settle.receiptHandle;
    this.invisibleUntilMs = settle.invisibleUntilMs;
    this.deliveryAttempt = settle.deliveryAttempt;
    this.brokerName = settle.brokerName;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), receiptHandle: this.receiptHandle, invisibleUntilMs: this.invisibleUntilMs, deliveryAttempt: this.deliveryAttempt, brokerName: this.brokerName };
  }
}
