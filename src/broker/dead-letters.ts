/**
 * Dead letters of a consumer group (`%DLQ%<group>`), for admins: list them with why they failed,
 * and redrive them — resend through the message service (validated and stored like any send,
 * keeping body, keys, tags and user properties; the origin msgId kept in ORIGIN_MESSAGE_ID) to
 * their origin topic or a chosen one, at a chosen rate, answering one result per entry. The
 * redrive ledger (redrive-ledger.ts) makes a repeated redrive resend nothing unless forced, and
 * an entry another redrive is resending right now is not resent again by a concurrent one
 * (forced or not): each check and claim happens before the request's next await.
 *
 * Admin reads go to the store directly: the DLQ's permission (none for clients) refuses client
 * pulls, not this path. Entries are read queue by queue, oldest first, at most
 * `deadLetterScanMax` records per call.
 */

import type { Clock } from "../common/clock.ts";
import { isMqError } from "../common/errors.ts";
import { deadLetterPageDefault, deadLetterScanMax } from "../common/limits.ts";
import { decodeRecord, type StoredMessage } from "../common/message-record.ts";
import { deadLetterPropertyNames, propertyNames } from "../common/message-properties.ts";
import { queueOffset as toQueueOffset } from "../common/offsets.ts";
import type { MessageStore } from "../store/message-store.ts";
import { type DeadLetterEntry, deadLetterTopic, toDeadLetterEntry, userProperties } from "./dead-letter-entry.ts";
import type { MessageService } from "./message-service.ts";
import type { RedriveLedger } from "./redrive-ledger.ts";
import type { EventBus } from "../common/bus.ts";
import type { BrokerEvents } from "./broker-events.ts";

export interface DeadLetterCursor {
  readonly queueId: number;
  readonly queueOffset: number;
}

export interface DeadLetterQuery {
  /** Store time (when the entry entered the DLQ) within [fromMs, toMs]. */
  readonly fromMs?: number;
  readonly toMs?: number;
  /** Matches the entry's id (offsetMsgId), msgId or origin msgId. */
  readonly msgId?: string;
}

export type DeadLetterPage = {
  entries: DeadLetterEntry[];
  /** Where the next page starts; absent on the last page. */
  next?: DeadLetterCursor;
};

export interface RedriveRequest extends DeadLetterQuery {
  /** Entries by id (offsetMsgId, msgId or origin msgId); else every entry of the time range (or all). */
  readonly ids?: readonly string[];
  /** Default: each entry's origin topic. */
  readonly toTopic?: string;
  /** Messages per second at most; absent: as fast as the store takes them. */
  readonly ratePerSecond?: number;
  /** Resend entries a redrive already resent. */
  readonly force?: boolean;
  /** Entries resent at most by this request. */
  readonly max: number;
}

export type RedriveResult =
  | { id: string; originMsgId?: string; status: "resent"; topic: string; msgId: string }
  | { id: string; originMsgId?: string; status: "failed"; reason: string };

export type RedriveAnswer = {
  results: RedriveResult[];
  /** Ids of the request that name no entry here. */
  missing: string[];
};

/** Records read from the store per consume-queue read. */
const readChunk = 64;

export class DeadLetters {
  /** Entries (`group|CommitLog offset`) a redrive is resending now. */
  private readonly resending = new Set<string>();

  constructor(
    private readonly store: MessageStore,
    private readonly messages: MessageService,
    private readonly ledger: RedriveLedger,
    private readonly clock: Clock,
    /** Where a redrive is announced ("message.redriven"), for the trace. */
    private readonly bus?: EventBus<BrokerEvents>,
  ) {}

  list(group: string, query: DeadLetterQuery & { readonly after?: DeadLetterCursor; readonly limit?: number }): DeadLetterPage {
    const limit = query.limit ?? deadLetterPageDefault;
    const entries: DeadLetterEntry[] = [];
    for (const { message, id } of this.scan(group, query, query.after)) {
      if (entries.length === limit) return { entries, next: { queueId: message.queueId, queueOffset: message.queueOffset } };
      entries.push(toDeadLetterEntry(message, id, this.ledger.has(group, message.physicalOffset)));
    }
    return { entries };
  }

  async redrive(group: string, request: RedriveRequest): Promise<RedriveAnswer> {
    const wanted = request.ids === undefined ? undefined : new Set(request.ids.map((id) => id.toUpperCase()));
    const found = new Set<string>();
    const results: RedriveResult[] = [];
    const intervalMs = request.ratePerSecond === undefined ? 0 : 1000 / request.ratePerSecond;
    let nextAtMs = this.clock.monotonicMs();
    for (const { message, id } of this.scan(group, request, undefined)) {
      if (results.length === request.max) break;
      const names = namesOf(message, id);
      if (wanted !== undefined) {
        const hit = names.filter((name) => wanted.has(name));
        if (hit.length === 0) continue;
        for (const name of hit) found.add(name);
      }
      const origin = message.properties[deadLetterPropertyNames.originMsgId] ?? message.msgId;
      const base = { id, ...(origin === undefined ? {} : { originMsgId: origin }) };
      const claim = `${group}|${message.physicalOffset}`;
      if (this.resending.has(claim)) {
        results.push({ ...base, status: "failed", reason: "another redrive is resending it now" });
        continue;
      }
      if (request.force !== true && this.ledger.has(group, message.physicalOffset)) {
        results.push({ ...base, status: "failed", reason: "already redriven: force resends it" });
        continue;
      }
      const topic = request.toTopic ?? message.properties[deadLetterPropertyNames.originTopic];
      if (topic === undefined) {
        results.push({ ...base, status: "failed", reason: "the entry names no origin topic: choose a topic" });
        continue;
      }
      this.resending.add(claim);
      try {
        await this.pace(nextAtMs);
        nextAtMs = Math.max(nextAtMs, this.clock.monotonicMs()) + intervalMs;
        results.push({ ...base, ...(await this.resendOne(group, message, topic, origin)) });
      } finally {
        this.resending.delete(claim);
      }
    }
    const missing = wanted === undefined ? [] : [...wanted].filter((name) => !found.has(name));
    return { results, missing };
  }

  private async resendOne(group: string, message: StoredMessage, topic: string, origin: string | undefined): Promise<{ status: "resent"; topic: string; msgId: string } | { status: "failed"; reason: string }> {
    try {
      const answer = await this.messages.resend(topic, { body: message.body, tags: message.tags, keys: message.keys, properties: userProperties(message) }, origin === undefined ? {} : { [propertyNames.originMsgId]: origin });
      this.ledger.add(group, message.physicalOffset);
      const failedMsgId = origin ?? message.msgId;
      if (failedMsgId !== undefined) this.bus?.emit("message.redriven", { group, msgId: failedMsgId, newMsgId: answer.msgId, topic });
      return { status: "resent", topic, msgId: answer.msgId };
    } catch (error) {
      if (!isMqError(error)) throw error;
      return { status: "failed", reason: error.message };
    }
  }

  private pace(atMs: number): Promise<void> | undefined {
    const waitMs = atMs - this.clock.monotonicMs();
    if (waitMs <= 0) return undefined;
    return new Promise((resolve) => this.clock.setTimeout(resolve, waitMs));
  }

  /** The group's DLQ records matching `query`, queue by queue, oldest first, from `after`. */
  private *scan(group: string, query: DeadLetterQuery, after: DeadLetterCursor | undefined): Generator<{ message: StoredMessage; id: string }> {
    const topic = deadLetterTopic(group);
    const queues = this.store.topics().find((info) => info.topic === topic)?.queues ?? [];
    const wanted = query.msgId?.toUpperCase();
    let read = 0;
    for (const queue of [...queues].sort((a, b) => a.queueId - b.queueId)) {
      if (after !== undefined && queue.queueId < after.queueId) continue;
      let offset: number = queue.minOffset;
      if (query.fromMs !== undefined) offset = Math.max(offset, this.store.offsetForTimestamp(topic, queue.queueId, query.fromMs));
      if (after !== undefined && queue.queueId === after.queueId) offset = Math.max(offset, after.queueOffset);
      let past = false;
      while (!past && offset < queue.maxOffset && read < deadLetterScanMax) {
        const batch = this.store.getMessages({ topic, queueId: queue.queueId, offset: toQueueOffset(offset), maxCount: readChunk });
        if (batch.messages.length === 0) break;
        for (const item of batch.messages) {
          read++;
          const message = decodeRecord(batch.buffer, item.position);
          past = query.toMs !== undefined && message.storeTimestampMs > query.toMs;
          if (past) break;
          if (query.fromMs !== undefined && message.storeTimestampMs < query.fromMs) continue;
          const id = this.messages.offsetMsgId(message.physicalOffset);
          if (wanted !== undefined && !namesOf(message, id).includes(wanted)) continue;
          yield { message, id };
        }
        offset = batch.nextOffset;
      }
    }
  }
}

/** What names an entry: its offsetMsgId, its msgId and its origin msgId, upper case. */
function namesOf(message: StoredMessage, id: string): string[] {
  const names = [id.toUpperCase()];
  if (message.msgId !== undefined) names.push(message.msgId.toUpperCase());
  const origin = message.properties[deadLetterPropertyNames.originMsgId];
  if (origin !== undefined) names.push(origin.toUpperCase());
  return names;
}
