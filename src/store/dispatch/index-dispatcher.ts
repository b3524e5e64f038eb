/**
 * The index dispatcher: a visible record's keys (per topic), producer msgId and dedup key (per
 * topic: the dedup window confirms its hits through it) become index entries pointing at its
 * CommitLog offset. A send-back copy's SEND_BACK_KEY is indexed whatever its visibility: a retry
 * copy is first a scheduled (timer) record, and a repeated send-back must find it from the moment
 * it is stored — also after a restart, since recovery replays dispatch.
 */

import type { IndexService } from "../index-service.ts";
import { propertyNames } from "../../common/message-properties.ts";
import { dedupKeyIndexKey, keyIndexKey, msgIdIndexKey, sendBackIndexKey } from "../index-keys.ts";
import type { DispatchRecord } from "./dispatch-record.ts";
import type { Dispatcher } from "./record-dispatch.ts";

export class IndexDispatcher implements Dispatcher {
  readonly accepts = "all";

  constructor(private readonly index: IndexService) {}

  dispatch(record: DispatchRecord): void {
    const { keys, msgId, topic, physicalOffset, storeTimestampMs } = record;
    const sendBackKey = record.properties?.[propertyNames.sendBackKey];
    if (sendBackKey !== undefined) this.index.put(sendBackIndexKey(sendBackKey), physicalOffset, storeTimestampMs);
    if (record.visibility !== "visible") return;
    if (keys !== undefined) for (const key of keys) this.index.put(keyIndexKey(topic, key), physicalOffset, storeTimestampMs);
    if (msgId !== undefined) this.index.put(msgIdIndexKey(msgId), physicalOffset, storeTimestampMs);
    const dedupKey = record.properties?.[propertyNames.dedupKey];
    if (dedupKey !== undefined) this.index.put(dedupKeyIndexKey(topic, dedupKey), physicalOffset, storeTimestampMs);
  }

  /**
   * Nothing to undo: index entries are hints that readers verify against the record they point
   * at, so one left by an undone append finds no record there, or one with another key.
   */
  rollback(): void {}
}
