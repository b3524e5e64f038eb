/**
 * The NameServer's request processors: plain functions of (route table, request), wired to
 * request codes by `NameServer`. Registration bodies are validated here, at the edge; the route
 * table then sees typed, bounded values only.
 */

import { MqError } from "../common/errors.ts";
import type { IncomingRequest, Reply } from "../net/handlers.ts";
import { type BrokerRegistration, decodeRegisterBrokerBody } from "../protocol/broker-registration.ts";
import type { RequestCode } from "../protocol/request-codes.ts";
import { resultReply } from "../protocol/response-body.ts";
import type { RegisterResult, RouteTable } from "./route-table.ts";

/** REGISTER_BROKER: answered with no fields; what changed goes to `onRegistered`. */
export function registerBroker(
  table: RouteTable,
  request: IncomingRequest<typeof RequestCode.REGISTER_BROKER>,
  onRegistered: (registration: BrokerRegistration, result: RegisterResult) => void,
): Reply {
  const registration: BrokerRegistration = { ...request.fields, topicConfigs: decodeRegisterBrokerBody(request.body) };
  onRegistered(registration, table.register(registration));
  return {};
}

/** UNREGISTER_BROKER: succeeds also for a broker already gone (it expired, or the NameServer restarted). */
export function unregisterBroker(table: RouteTable, request: IncomingRequest<typeof RequestCode.UNREGISTER_BROKER>, onRemoved: (removed: boolean) => void): Reply {
  onRemoved(table.unregister(request.fields));
  return {};
}

/** GET_ROUTE: the topic's queue data and broker addresses; TOPIC_NOT_FOUND when no live broker carries it. */
export function getRoute(table: RouteTable, request: IncomingRequest<typeof RequestCode.GET_ROUTE>): Reply {
  const route = table.route(request.fields.topic);
  if (route === undefined) throw new MqError("TOPIC_NOT_FOUND", { topic: request.fields.topic });
  return resultReply(route);
}

/** GET_CLUSTER_INFO: every live broker. */
export function getClusterInfo(table: RouteTable): Reply {
  return resultReply(table.clusterInfo());
}
