/**
 * The append path: checks a message, writes its record to the CommitLog and dispatches it, as
 * one synchronous step. If dispatch cannot complete (the next consume-queue or index file cannot
 * be opened), the append is undone — dispatchers roll back and the CommitLog write position
 * returns to where the record began — so the send is refused and nothing of it remains.
 *
 * A batch is atomic the same way: every entry is checked before the first is written, and a
 * failure midway undoes every record of the batch. Events (`message.stored`) go out only for
 * what stays.
 */

import { unreachable } from "../common/assert.ts";
import { MqError } from "../common/errors.ts";
import * as limits from "../common/limits.ts";
import { propertyNames } from "../common/message-properties.ts";
import { endOfFileMarkerBytes, recordFixedBytes, type HostAddress } from "../common/message-record.ts";
import { physicalOffset as toPhysicalOffset, queueOffset as toQueueOffset, type PhysicalOffset } from "../common/offsets.ts";
import type { CommitLog } from "./commit-log.ts";
import type { ConsumeQueues } from "./consume-queues.ts";
import { consumeQueueTagHash, recordVisibility, type DispatchRecord } from "./dispatch/dispatch-record.ts";
import type { RecordDispatch } from "./dispatch/record-dispatch.ts";
import type { PutBatchResult, PutFailure, PutMessageInput, PutOk, PutResult } from "./put-message.ts";
import type { ResolvedStoreOptions } from "./store-options.ts";

const textEncoder = new TextEncoder();
const emptyBytes = new Uint8Array(0);

export interface AppenderOptions {
  options: ResolvedStoreOptions;
  commitLog: CommitLog;
  queues: ConsumeQueues;
  dispatch: RecordDispatch;
  storeHost: HostAddress;
}

export class Appender {
  messagesPut = 0;
  bytesPut = 0;
  private readonly topicBytes = new Map<string, Uint8Array>();
  private readonly recordBytesMax: number;

  constructor(private readonly context: AppenderOptions) {
    this.recordBytesMax = context.commitLog.fileBytes - endOfFileMarkerBytes;
  }

  append(input: PutMessageInput): PutResult {
    const topicBytes = this.topicBytesOf(input);
    if (!(topicBytes instanceof Uint8Array)) return topicBytes;
    const propertiesBytes = this.propertiesBytesOf(input, topicBytes);
    if (!(propertiesBytes instanceof Uint8Array)) return propertiesBytes;
    const result = this.write(input, topicBytes, propertiesBytes);
    if (result.status === "ok") this.stored(input, result);
    return result;
  }

  /** Appends every entry or none: the first failure is the answer for the whole batch. */
  appendBatch(inputs: readonly PutMessageInput[]): PutBatchResult {
    const topicBytes: Uint8Array[] = [];
    const propertiesBytes: Uint8Array[] = [];
    for (const input of inputs) {
      const topic = this.topicBytesOf(input);
      if (!(topic instanceof Uint8Array)) return topic;
      const properties = this.propertiesBytesOf(input, topic);
      if (!(properties instanceof Uint8Array)) return properties;
      topicBytes.push(topic);
      propertiesBytes.push(properties);
    }
    const start = toPhysicalOffset(this.context.commitLog.writePosition);
    const results: PutOk[] = [];
    for (let index = 0; index < inputs.length; index++) {
      const result = this.write(inputs[index]!, topicBytes[index]!, propertiesBytes[index]!);
      if (result.status !== "ok") {
        this.undo(start);
        return result;
      }
      results.push(result);
    }
    for (let index = 0; index < inputs.length; index++) this.stored(inputs[index]!, results[index]!);
    return { status: "ok", results };
  }

  private topicBytesOf(input: PutMessageInput): Uint8Array | PutFailure {
    let topicBytes = this.topicBytes.get(input.topic);
    if (topicBytes === undefined) {
      if (!limits.topicNamePattern.test(input.topic)) return { status: "topic_invalid", topic: input.topic, reason: `expected ${limits.topicNamePattern}` };
      topicBytes = textEncoder.encode(input.topic);
      this.topicBytes.set(input.topic, topicBytes);
    }
    if (!Number.isInteger(input.queueId) || input.queueId < 0 || input.queueId >= limits.queuesPerTopicMax) {
      return { status: "topic_invalid", topic: input.topic, reason: `queue id ${input.queueId} is outside 0..${limits.queuesPerTopicMax - 1}` };
    }
    if (input.body.length > limits.messageBodyBytesMax) return { status: "message_too_large", bytes: input.body.length, limit: limits.messageBodyBytesMax };
    return topicBytes;
  }

  private propertiesBytesOf(input: PutMessageInput, topicBytes: Uint8Array): Uint8Array | PutFailure {
    const propertiesBytes = input.propertiesBytes ?? encodeProperties(input);
    if (typeof propertiesBytes === "string") return { status: "property_invalid", name: propertiesBytes };
    if (propertiesBytes.length > limits.messagePropertiesBytesMax) return { status: "properties_too_large", bytes: propertiesBytes.length, limit: limits.messagePropertiesBytesMax };
    const size = recordFixedBytes + input.body.length + topicBytes.length + propertiesBytes.length; // recordBytes, without an object per message
    if (size > this.recordBytesMax) return { status: "message_too_large", bytes: size, limit: this.recordBytesMax };
    return propertiesBytes;
  }

  /** Writes and dispatches one checked message; on failure nothing of it remains. */
  private write(input: PutMessageInput, topicBytes: Uint8Array, propertiesBytes: Uint8Array): PutResult {
    const { options, commitLog, queues, storeHost } = this.context;
    const storeTimestampMs = options.clock.nowMs();
    const sysFlag = input.sysFlag ?? 0;
    const preparedTransactionOffset = input.preparedTransactionOffset ?? 0;
    const visibility = recordVisibility(input.topic, sysFlag, input.properties, storeTimestampMs);
    // A record that is not visible takes no queue offset: it reaches only its own dispatcher.
    const queueOffset = visibility === "visible" ? queues.nextOffset(input.topic, input.queueId) : toQueueOffset(0);
    const appended = commitLog.append(
      {
        topicBytes,
        queueId: input.queueId,
        flag: input.flag ?? 0,
        sysFlag,
        bornTimestampMs: input.bornTimestampMs ?? storeTimestampMs,
        bornHost: input.bornHost ?? storeHost,
        reconsumeTimes: input.reconsumeTimes ?? 0,
        preparedTransactionOffset,
        body: input.body,
        propertiesBytes,
      },
      { queueOffset, storeTimestampMs, storeHost },
    );
    switch (appended.status) {
      case "ok":
        break;
      case "message_too_large":
        return { status: "message_too_large", bytes: appended.size, limit: appended.limit };
      case "io_error":
        return { status: "io_error", error: appended.error };
      default:
        return unreachable(appended);
    }
    const physicalOffset = toPhysicalOffset(appended.physicalOffset);
    const record: DispatchRecord = {
      topic: input.topic,
      queueId: input.queueId,
      queueOffset,
      physicalOffset,
      size: appended.size,
      sysFlag,
      preparedTransactionOffset,
      storeTimestampMs,
      tagHash: consumeQueueTagHash(input.tags),
      keys: input.keys,
      msgId: input.msgId,
      properties: input.properties,
      visibility,
    };
    try {
      this.context.dispatch.dispatch(record);
    } catch (error) {
      this.undo(physicalOffset);
      if (error instanceof MqError) return { status: "io_error", error };
      throw error;
    }
    return { status: "ok", physicalOffset, queueOffset, size: appended.size, storeTimestampMs };
  }

  /** Forgets every record from `from` on: dispatchers first, then the CommitLog bytes. */
  private undo(from: PhysicalOffset): void {
    this.context.dispatch.rollback(from);
    this.context.commitLog.rollbackTo(from);
  }

  private stored(input: PutMessageInput, result: PutOk): void {
    this.messagesPut += 1;
    this.bytesPut += result.size;
    this.context.options.bus?.emit("message.stored", {
      topic: input.topic,
      queueId: input.queueId,
      queueOffset: result.queueOffset,
      physicalOffset: result.physicalOffset,
      size: result.size,
      storeTimestampMs: result.storeTimestampMs,
      msgId: input.msgId,
      keys: input.keys,
      tags: input.tags,
      properties: input.properties,
      reconsumeTimes: input.reconsumeTimes,
    });
  }
}

const msgIdPropertyLead = `${propertyNames.msgId}\u0001`;
const separatorPattern = /[\u0001\u0002]/;

function encodeProperties(input: PutMessageInput): Uint8Array | string {
  const user = input.properties;
  if (user === undefined && input.tags === undefined && input.keys === undefined) {
    if (input.msgId === undefined) return emptyBytes;
    // The common case (a plain message with only its msgId): one string, no map.
    if (separatorPattern.test(input.msgId)) return propertyNames.msgId;
    return textEncoder.encode(msgIdPropertyLead + input.msgId + "\u0002");
  }
  // The text is built straight from the user's properties and the fields (as encodePropertiesText
  // would from their merge), without a merged copy: a scheduled send's timer record carries
  // properties, and the copy per message was garbage.
  const tags = input.tags;
  const keys = input.keys !== undefined && input.keys.length > 0 ? input.keys.join(" ") : undefined;
  const msgId = input.msgId;
  let text = "";
  if (user !== undefined) {
    for (const name in user) {
      const value = user[name];
      if (value === undefined) continue;
      // A field given wins over a property of the same name.
      if ((name === propertyNames.tags && tags !== undefined) || (name === propertyNames.keys && keys !== undefined) || (name === propertyNames.msgId && msgId !== undefined)) continue;
      if (name.length === 0 || separatorPattern.test(name) || separatorPattern.test(value)) return name;
      text += name + "\u0001" + value + "\u0002";
    }
  }
  if (tags !== undefined) {
    if (separatorPattern.test(tags)) return propertyNames.tags;
    text += propertyNames.tags + "\u0001" + tags + "\u0002";
  }
  if (keys !== undefined) {
    if (separatorPattern.test(keys)) return propertyNames.keys;
    text += propertyNames.keys + "\u0001" + keys + "\u0002";
  }
  if (msgId !== undefined) {
    if (separatorPattern.test(msgId)) return propertyNames.msgId;
    text += msgIdPropertyLead + msgId + "\u0002";
  }
  return textEncoder.encode(text);
}
