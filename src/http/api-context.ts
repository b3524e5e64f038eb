/**
 * What the REST routes share: the backend that does the work (the in-process broker, or brokers
 * elsewhere through the SDK: mq-backend.ts), the metrics, and the version. Routes are plain
 * functions of this, so each file registers its own paths on a sub-app.
 */

import type { BrokerMetrics } from "./broker-metrics.ts";
import type { MqBackend } from "./mq-backend.ts";

export interface ApiContext {
  readonly backend: MqBackend;
  readonly metrics: BrokerMetrics;
  readonly version: string;
}
