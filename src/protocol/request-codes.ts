/**
 * Request codes: what a request asks for, sent in the header's `code` (u16). Responses reuse
 * the header's `code` for their outcome: `ResponseCode.SUCCESS` (0) or an error code from the
 * catalogue (`src/common/errors.ts`, 1000..9999). Request and response codes never meet in one
 * frame (the response flag tells them apart), but request codes stay below 1000 all the same so
 * a log line is never ambiguous.
 *
 * Codes are grouped by tens. A code, once shipped, keeps its number forever: add, never reuse.
 */

export const RequestCode = {
  // Messages (client → broker)
  SEND_MESSAGE: 10,
  SEND_BATCH: 11,
  PULL_MESSAGE: 12,
  /** A consumer hands back a message it failed to process: it goes to %RETRY% / %DLQ% (RocketMQ's code 36). */
  CONSUMER_SEND_BACK: 13,
  /** CONSUMER_SEND_BACK for several failed messages of one group at once: one result each. */
  CONSUMER_SEND_BACK_BATCH: 135,
  /** A transaction producer commits or rolls back a half message. */
  END_TRANSACTION: 14,
  POP_MESSAGE: 15,
  ACK_MESSAGE: 16,
  CHANGE_INVISIBLE_TIME: 17,

  // Offsets (client → broker)
  QUERY_CONSUMER_OFFSET: 20,
  UPDATE_CONSUMER_OFFSET: 21,
  GET_MIN_OFFSET: 22,
  GET_MAX_OFFSET: 23,
  SEARCH_OFFSET_BY_TIMESTAMP: 24,
  RESET_OFFSET: 25,

  // Message lookup (client/admin → broker)
  VIEW_MESSAGE_BY_ID: 30,
  QUERY_MESSAGE_BY_KEY: 31,

  // Clients and groups (client → broker)
  HEARTBEAT: 40,
  UNREGISTER_CLIENT: 41,
  GET_CONSUMER_LIST: 42,
  LOCK_BATCH_MQ: 43,
  UNLOCK_BATCH_MQ: 44,

  // Admin (admin → broker)
  CREATE_TOPIC: 50,
  UPDATE_TOPIC: 51,
  DELETE_TOPIC: 52,
  GET_TOPIC: 53,
  LIST_TOPICS: 54,
  LIST_GROUPS: 55,
  GET_GROUP: 56,
  /** Creates a group's configuration or changes the fields given (retry max, back-off, consumeEnable, orderly). */
  UPDATE_GROUP_CONFIG: 57,
  GET_GROUP_CONFIG: 58,

  // Scheduled messages (admin → broker)
  /** Pending scheduled messages: counts per time bucket and one page of them. */
  LIST_SCHEDULED_MESSAGES: 70,
  /** Cancels a scheduled message by msgId: cancelled, already-delivered or unknown. */
  CANCEL_SCHEDULED_MESSAGE: 71,

  // Dead letters (admin → broker)
  /** A group's DLQ entries, with why they failed: one page, filtered by store time and msgId. */
  LIST_DEAD_LETTERS: 80,
  /** Resends DLQ entries (by id, time range or all) and answers one result per entry. */
  REDRIVE_DEAD_LETTERS: 81,

  // Transactions (admin → broker); END_TRANSACTION (14) also ends one by id for an operator
  /** Pending or exhausted transactions (producer group, topic, age, check-backs): one page. */
  LIST_TRANSACTIONS: 90,
  /** END_TRANSACTION for many transactions of one broker: one result each. */
  END_TRANSACTION_BATCH: 91,

  // Broker → client (sent by the server on a client's connection)
  /** The trace hops a broker holds about a message (by msgId, offsetMsgId or key), oldest first. */
  QUERY_MESSAGE_TRACE: 110,

  CHECK_TRANSACTION_STATE: 60,
  NOTIFY_CONSUMER_IDS_CHANGED: 61,
  /** After RESET_OFFSET: the group's clients drop what they hold and re-read their offsets. */
  RESET_CONSUMER_CLIENT_OFFSET: 62,

  // NameServer (broker/client → namesrv)
  REGISTER_BROKER: 100,
  UNREGISTER_BROKER: 101,
  GET_ROUTE: 102,
  GET_CLUSTER_INFO: 103,
} as const;

export type RequestCodeName = keyof typeof RequestCode;
export type RequestCode = (typeof RequestCode)[RequestCodeName];

export const ResponseCode = {
  SUCCESS: 0,
} as const;

/** Who sends each request; the receiver is the other side. Documentation and tests use it. */
export const requestDirection: Readonly<Record<RequestCodeName, "client→broker" | "broker→client" | "→namesrv">> = {
  SEND_MESSAGE: "client→broker",
  SEND_BATCH: "client→broker",
  PULL_MESSAGE: "client→broker",
  CONSUMER_SEND_BACK: "client→broker",
  CONSUMER_SEND_BACK_BATCH: "client→broker",
  END_TRANSACTION: "client→broker",
  POP_MESSAGE: "client→broker",
  ACK_MESSAGE: "client→broker",
  CHANGE_INVISIBLE_TIME: "client→broker",
  QUERY_CONSUMER_OFFSET: "client→broker",
  UPDATE_CONSUMER_OFFSET: "client→broker",
  GET_MIN_OFFSET: "client→broker",
  GET_MAX_OFFSET: "client→broker",
  SEARCH_OFFSET_BY_TIMESTAMP: "client→broker",
  RESET_OFFSET: "client→broker",
  VIEW_MESSAGE_BY_ID: "client→broker",
  QUERY_MESSAGE_BY_KEY: "client→broker",
  HEARTBEAT: "client→broker",
  UNREGISTER_CLIENT: "client→broker",
  GET_CONSUMER_LIST: "client→broker",
  LOCK_BATCH_MQ: "client→broker",
  UNLOCK_BATCH_MQ: "client→broker",
  CREATE_TOPIC: "client→broker",
  UPDATE_TOPIC: "client→broker",
  DELETE_TOPIC: "client→broker",
  GET_TOPIC: "client→broker",
  LIST_TOPICS: "client→broker",
  LIST_GROUPS: "client→broker",
  GET_GROUP: "client→broker",
  UPDATE_GROUP_CONFIG: "client→broker",
  GET_GROUP_CONFIG: "client→broker",
  LIST_SCHEDULED_MESSAGES: "client→broker",
  CANCEL_SCHEDULED_MESSAGE: "client→broker",
  LIST_DEAD_LETTERS: "client→broker",
  REDRIVE_DEAD_LETTERS: "client→broker",
  LIST_TRANSACTIONS: "client→broker",
  QUERY_MESSAGE_TRACE: "client→broker",
  END_TRANSACTION_BATCH: "client→broker",
  CHECK_TRANSACTION_STATE: "broker→client",
  NOTIFY_CONSUMER_IDS_CHANGED: "broker→client",
  RESET_CONSUMER_CLIENT_OFFSET: "broker→client",
  REGISTER_BROKER: "→namesrv",
  UNREGISTER_BROKER: "→namesrv",
  GET_ROUTE: "→namesrv",
  GET_CLUSTER_INFO: "→namesrv",
};

const nameByCode = new Map<number, RequestCodeName>(
  (Object.keys(RequestCode) as RequestCodeName[]).map((name) => [RequestCode[name], name]),
);

/** `SEND_MESSAGE` for 10; the number itself for a code this build does not know. */
export function requestCodeName(code: number): string {
  return nameByCode.get(code) ?? String(code);
}

export function isKnownRequestCode(code: number): code is RequestCode {
  return nameByCode.has(code);
}
