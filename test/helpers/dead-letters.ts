/**
 * DLQ entries appended straight to a broker's store as the broker's DLQ path writes them: real
 * records in `%DLQ%<group>`, carrying the origin, failure and consumer properties.
 */

import { deadLetterPropertyNames, propertyNames } from "../../src/common/message-properties.ts";
import { deadLetterTopicPrefix } from "../../src/common/system-topics.ts";
import type { MessageStore } from "../../src/store/message-store.ts";

export interface DeadLetterInput {
  readonly originTopic: string;
  readonly originMsgId: string;
  readonly body?: string;
  readonly tags?: string;
  readonly keys?: readonly string[];
  readonly userProperties?: Record<string, string>;
  readonly reconsumeTimes?: number;
  readonly firstFailureMs?: number;
  readonly lastFailureMs?: number;
  readonly clientId?: string;
  readonly errorText?: string;
}

/** Appends one DLQ entry and resolves with its CommitLog offset and store time. */
export async function appendDeadLetter(store: MessageStore, group: string, input: DeadLetterInput): Promise<{ physicalOffset: number; storeTimestampMs: number }> {
  const reconsumeTimes = input.reconsumeTimes ?? 16;
  const result = await store.put({
    topic: deadLetterTopicPrefix + group,
    queueId: 0,
    body: new TextEncoder().encode(input.body ?? `body of ${input.originMsgId}`),
    tags: input.tags,
    keys: input.keys,
    msgId: input.originMsgId,
    reconsumeTimes,
    properties: {
      ...input.userProperties,
      [deadLetterPropertyNames.originTopic]: input.originTopic,
      [deadLetterPropertyNames.originMsgId]: input.originMsgId,
      [deadLetterPropertyNames.reconsumeTimes]: String(reconsumeTimes),
      [deadLetterPropertyNames.firstFailureMs]: String(input.firstFailureMs ?? 1_000),
      [deadLetterPropertyNames.lastFailureMs]: String(input.lastFailureMs ?? 2_000),
      [deadLetterPropertyNames.lastConsumerClientId]: input.clientId ?? "10.0.0.1@worker-1",
      [deadLetterPropertyNames.errorText]: input.errorText ?? "Error: handler failed",
    },
  });
  if (result.status !== "ok") throw new Error(`Cannot append a DLQ entry: ${result.status}`);
  return { physicalOffset: result.physicalOffset, storeTimestampMs: result.storeTimestampMs };
}

/** A msgId-shaped hex id (32 characters) for entry `index`. */
export function originId(index: number): string {
  return `C0FFEE${index.toString(16).toUpperCase().padStart(26, "0")}`;
}
