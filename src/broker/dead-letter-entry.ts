/**
 * A DLQ record as an admin reads it: where the message came from (origin topic and msgId), how
 * often it failed (reconsume count, first and last failure time), who failed it last (client id)
 * and why (the handler's error text) — all carried as properties by the record the broker moved
 * into `%DLQ%<group>` — plus the record's own place, which names it for a redrive.
 */

import type { StoredMessage } from "../common/message-record.ts";
import { deadLetterPropertyNames, propertyNames, reservedPropertyNames } from "../common/message-properties.ts";
import { deadLetterTopicPrefix } from "../common/system-topics.ts";

export type DeadLetterEntry = {
  /** The DLQ record's offsetMsgId: what a redrive by id names first. */
  id: string;
  /** The DLQ record's msgId (UNIQ_KEY). */
  msgId?: string;
  originTopic?: string;
  originMsgId?: string;
  reconsumeTimes: number;
  firstFailureMs?: number;
  lastFailureMs?: number;
  clientId?: string;
  errorText?: string;
  /** When the record entered the DLQ (its store time). */
  storeTimestampMs: number;
  queueId: number;
  queueOffset: number;
  tags?: string;
  keys: string[];
  bodyBytes: number;
  /** Already resent by a redrive (a repeat skips it unless forced). */
  redriven: boolean;
};

export function deadLetterTopic(group: string): string {
  return deadLetterTopicPrefix + group;
}

export function toDeadLetterEntry(message: StoredMessage, id: string, redriven: boolean): DeadLetterEntry {
  const properties = message.properties;
  const reconsume = properties[deadLetterPropertyNames.reconsumeTimes];
  return {
    id,
    ...optional("msgId", message.msgId),
    ...optional("originTopic", properties[deadLetterPropertyNames.originTopic]),
    ...optional("originMsgId", properties[deadLetterPropertyNames.originMsgId]),
    reconsumeTimes: reconsume === undefined ? message.reconsumeTimes : Number(reconsume),
    ...optional("firstFailureMs", numberOf(properties[deadLetterPropertyNames.firstFailureMs])),
    ...optional("lastFailureMs", numberOf(properties[deadLetterPropertyNames.lastFailureMs])),
    ...optional("clientId", properties[deadLetterPropertyNames.lastConsumerClientId]),
    ...optional("errorText", properties[deadLetterPropertyNames.errorText]),
    storeTimestampMs: message.storeTimestampMs,
    queueId: message.queueId,
    queueOffset: message.queueOffset,
    ...optional("tags", message.tags),
    keys: message.keys,
    bodyBytes: message.body.byteLength,
    redriven,
  };
}

/** The properties a user gave the message: what a redrive carries over (the broker's own are set anew). */
export function userProperties(message: StoredMessage): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name in message.properties) if (!reservedPropertyNames.has(name)) kept[name] = message.properties[name]!;
  return kept;
}

function numberOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}
