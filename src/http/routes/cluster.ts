/**
 * `GET /cluster`: the brokers as the backend sees them (mq-backend.ts), the NameServers this
 * process knows (its own and those it was given), and for the broker running in this process
 * its store size and disk use measured now — what the console's overview shows. Other brokers'
 * figures are those their last NameServer registration reported (absent from brokers that do not).
 */

import { Hono } from "hono";
import type { BrokerContext } from "../../broker/broker-context.ts";
import type { ApiContext } from "../api-context.ts";
import type { LocalBrokerIdentity } from "../local-backend.ts";

export interface ClusterRoutesOptions {
  readonly broker?: BrokerContext;
  readonly identity?: LocalBrokerIdentity;
  /** NameServer addresses: the one in this process and those given by --namesrv. */
  readonly nameServers?: () => readonly string[];
}

export function clusterRoutes(api: ApiContext, options: ClusterRoutesOptions): Hono {
  const routes = new Hono();
  routes.get("/cluster", async (context) => {
    const view = await api.backend.cluster();
    const { broker, identity } = options;
    const brokers = view.brokers.map((entry) => {
      if (broker === undefined || identity === undefined || entry.brokerName !== identity.brokerName || entry.brokerId !== identity.brokerId) return entry;
      const stats = broker.store.stats();
      return { ...entry, storeBytes: stats.commitLogMaxOffset - stats.commitLogMinOffset, diskUsedRatio: stats.diskUsedRatio };
    });
    return context.json({ ...view, brokers, nameServers: [...(options.nameServers?.() ?? [])] });
  });
  return routes;
}
