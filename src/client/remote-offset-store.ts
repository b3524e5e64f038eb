/** Offsets of a clustering group, kept by the broker that holds each queue (see offset-store.ts). */

import type { QueueOffset } from "../common/offsets.ts";
import type { BrokerClient } from "./broker-client.ts";
import type { MessageQueue } from "./message-queue.ts";
import type { OffsetCommit, OffsetStore } from "./offset-store.ts";
import type { RouteResolver } from "./route-resolver.ts";

export class RemoteOffsetStore implements OffsetStore {
  constructor(
    private readonly broker: BrokerClient,
    private readonly routes: RouteResolver,
    private readonly group: string,
  ) {}

  read(queue: MessageQueue): Promise<QueueOffset | -1> {
    return this.broker.queryConsumerOffset(this.routes.brokerAddress(queue.brokerName), { consumerGroup: this.group, topic: queue.topic, queueId: queue.queueId });
  }

  async commit(commits: readonly OffsetCommit[]): Promise<void> {
    // One request per queue, pipelined on the connection: the protocol has no batch update.
    const results = await Promise.allSettled(
      commits.map(({ queue, offset }) =>
        this.broker.updateConsumerOffset(this.routes.brokerAddress(queue.brokerName), { consumerGroup: this.group, topic: queue.topic, queueId: queue.queueId, queueOffset: offset }),
      ),
    );
    const failure = results.find((result) => result.status === "rejected");
    if (failure !== undefined) throw failure.reason;
  }
}
