/**
 * Group configuration requests: UPDATE_GROUP_CONFIG (create, or change the fields given; answered
 * once the change is on disk) and GET_GROUP_CONFIG (the defaults for a group nobody configured).
 * The plain functions are what the in-process REST backend calls too.
 */

import type { IncomingRequest, Reply } from "../../net/handlers.ts";
import type { GroupConfig, GroupConfigUpdate } from "../../protocol/group-config.ts";
import type { RequestCode } from "../../protocol/request-codes.ts";
import type { BrokerContext } from "../broker-context.ts";

export async function updateGroupConfig(context: BrokerContext, request: IncomingRequest<typeof RequestCode.UPDATE_GROUP_CONFIG>): Promise<Reply> {
  return { fields: { ...(await changeGroupConfig(context, request.fields)) } };
}

export async function changeGroupConfig(context: BrokerContext, update: GroupConfigUpdate): Promise<GroupConfig> {
  const config = await context.groupConfigs.update(update);
  context.logger.info(`Group "${config.group}" configured: maxReconsumeTimes ${config.maxReconsumeTimes}, back-off ${config.backoff.kind}, consumeEnable ${config.consumeEnable}, orderly ${config.orderly}`);
  return config;
}

export function getGroupConfig(context: BrokerContext, request: IncomingRequest<typeof RequestCode.GET_GROUP_CONFIG>): Reply {
  return { fields: { ...context.groupConfigs.get(request.fields.group) } };
}
