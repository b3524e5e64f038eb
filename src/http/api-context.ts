/**
 * What the REST routes share: the in-process broker (its context: topics, offsets, store, ...),
 * its pop service, the REST message sender, the metrics, and the optional cluster view. Routes
 * are plain functions of this, so each file registers its own paths on a sub-app.
 */

import type { BrokerContext } from "../broker/broker-context.ts";
import type { PopService } from "../broker/pop-service.ts";
import type { Reply } from "../net/handlers.ts";
import { readResult } from "../protocol/response-body.ts";
import type { ClusterInfo } from "../protocol/responses.ts";
import type { BrokerMetrics } from "./broker-metrics.ts";
import type { MessageSender } from "./message-sender.ts";

export interface ApiContext {
  readonly broker: BrokerContext;
  readonly pop: PopService;
  readonly sender: MessageSender;
  readonly metrics: BrokerMetrics;
  readonly version: string;
  /** The broker group name shown in routes and the single-broker cluster view. */
  readonly brokerName: string;
  /** The cluster as a NameServer sees it; without one, the cluster is this broker alone. */
  readonly cluster?: () => ClusterInfo | Promise<ClusterInfo>;
}

const emptyBody = new Uint8Array(0);

/**
 * Runs a broker admin processor in-process and returns its result map, so REST and TCP share
 * one implementation of each admin action (and its errors) instead of two that could drift.
 */
export function callProcessor(handler: (context: ApiContext["broker"], request: never) => Reply, api: ApiContext, fields: Record<string, unknown>): Record<string, unknown> {
  const reply = handler(api.broker, { fields } as never);
  return readResult({ header: reply.fields ?? {}, body: reply.body ?? emptyBody });
}
