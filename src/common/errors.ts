/**
 * The one error catalogue of mq, shared by TCP responses, REST (which maps `http`) and the CLI
 * (which prints `message` and exits non-zero). Clients compare `code`, never the text.
 *
 * Messages follow one style: sentence case, no final period, say what was attempted, quote
 * values, end with the state. `{name}` placeholders are filled from the error's params.
 * Codes: 1000–1999 request/protocol, 2000–2999 topics and routes, 3000–3999 messages, 4000–4999 consumers,
 * 5000–5999 storage, 6000–6999 cluster, 7000–7999 access control, 9000 internal.
 */

export interface ErrorSpec {
  readonly code: number;
  readonly http: number;
  readonly message: string;
}

export const errorCatalog = {
  BAD_REQUEST: { code: 1000, http: 400, message: "Cannot process request: {reason}" },
  MALFORMED_FRAME: { code: 1001, http: 400, message: "Cannot decode frame: {reason}" },
  FRAME_TOO_LARGE: { code: 1002, http: 413, message: "Cannot accept frame: {bytes} bytes, limit is {limit}" },
  UNKNOWN_REQUEST_CODE: { code: 1003, http: 400, message: "Cannot handle request: unknown request code {requestCode}" },
  INVALID_FIELD: { code: 1004, http: 400, message: "Cannot accept request: field \"{field}\" {reason}" },
  TOO_MANY_PENDING_REQUESTS: { code: 1005, http: 429, message: "Cannot accept request: {pending} requests pending on this connection, limit is {limit}" },
  TOO_MANY_CONNECTIONS: { code: 1006, http: 503, message: "Cannot accept connection: {connections} open, limit is {limit}" },
  REQUEST_TIMEOUT: { code: 1007, http: 504, message: "Request {requestCode} to {address} timed out after {timeoutMs} ms" },
  CONNECTION_CLOSED: { code: 1008, http: 502, message: "Cannot complete request: connection to {address} closed" },
  CONNECT_FAILED: { code: 1009, http: 502, message: "Cannot connect to {address}: {reason}" },
  NOT_FOUND: { code: 1010, http: 404, message: "Cannot find {what} \"{name}\"" },
  INVALID_CONFIG: { code: 1011, http: 400, message: "Cannot load configuration: {key} {reason}" },
  ABORTED: { code: 1012, http: 499, message: "Operation aborted: {reason}" },
  LISTEN_FAILED: { code: 1013, http: 500, message: "Cannot listen on {address}: {reason}" },
  REQUEST_TOO_LARGE: { code: 1014, http: 413, message: "Cannot accept request: body is over {limit} bytes" },
  WRONG_SERVICE: { code: 1015, http: 400, message: "Cannot use {address}: it is {service}; {hint}" },
  FILTER_EXPRESSION_INVALID: { code: 1020, http: 400, message: "Cannot compile SQL92 filter \"{expression}\": expected {expected} at line {line}, column {column}, found {found}" },
  CROSS_SITE_REFUSED: { code: 1030, http: 403, message: "Cannot accept {method} {path}: {reason}" },
  CONSOLE_READ_ONLY: { code: 1031, http: 403, message: "Cannot accept {method} {path}: the API is read-only (consoleReadOnly is true)" },

  TOPIC_NOT_FOUND: { code: 2001, http: 404, message: "Cannot find topic \"{topic}\"" },
  TOPIC_INVALID: { code: 2002, http: 400, message: "Cannot use topic name \"{topic}\": {reason}" },
  TOPIC_EXISTS: { code: 2003, http: 409, message: "Cannot create topic \"{topic}\": it already exists" },
  QUEUE_NOT_FOUND: { code: 2004, http: 404, message: "Cannot find queue {queueId} of topic \"{topic}\": it has {queues} queues" },
  NO_ROUTE: { code: 2005, http: 404, message: "Cannot find a route for topic \"{topic}\": asked {namesrvs}" },
  TOPIC_NOT_WRITABLE: { code: 2006, http: 403, message: "Cannot write to topic \"{topic}\": its permission is {perm}" },
  TOPIC_NOT_READABLE: { code: 2007, http: 403, message: "Cannot read from topic \"{topic}\": its permission is {perm}" },
  TOPIC_LIMIT_REACHED: { code: 2008, http: 409, message: "Cannot create topic \"{topic}\": the broker holds {topics} topics, limit is {limit}" },

  MESSAGE_TOO_LARGE: { code: 3001, http: 413, message: "Cannot append message: body is {bytes} bytes, limit is {limit}" },
  PROPERTIES_TOO_LARGE: { code: 3002, http: 413, message: "Cannot append message: properties are {bytes} bytes, limit is {limit}" },
  MESSAGE_NOT_FOUND: { code: 3003, http: 404, message: "Cannot find message \"{id}\"" },
  MESSAGE_ID_INVALID: { code: 3004, http: 400, message: "Cannot parse message id \"{id}\": {reason}" },
  BATCH_TOO_LARGE: { code: 3005, http: 413, message: "Cannot append batch: {bytes} bytes in {messages} messages, limit is {limit} bytes" },
  BATCH_EMPTY: { code: 3006, http: 400, message: "Cannot append batch: it holds no messages" },
  BATCH_MIXED_TOPICS: { code: 3007, http: 400, message: "Cannot append batch: it mixes topics \"{first}\" and \"{other}\"" },
  TIMER_DELAY_OUT_OF_RANGE: { code: 3020, http: 400, message: "Cannot schedule message: delay is {delayMs} ms, it must be 1..{limitMs} ms (timerMaxDelayMs)" },
  STREAM_WRITE_FAILED: { code: 3030, http: 502, message: "Cannot write stream chunk {index} to topic \"{topic}\": {reason}" },
  TRANSACTION_NOT_FOUND: { code: 3040, http: 404, message: "Cannot find transaction \"{id}\": {reason}" },
  TRANSACTION_ALREADY_ENDED: { code: 3041, http: 409, message: "Cannot {action} transaction \"{id}\": it was already {state}" },
  PROPERTY_INVALID: { code: 3008, http: 400, message: "Cannot use property \"{name}\": {reason}" },

  GROUP_NOT_FOUND: { code: 4001, http: 404, message: "Cannot find consumer group \"{group}\"" },
  OFFSET_OUT_OF_RANGE: { code: 4002, http: 400, message: "Cannot read queue {queueId} of \"{topic}\" at offset {offset}: valid range is {min}..{max}" },
  QUEUE_LOCKED: { code: 4003, http: 409, message: "Cannot lock queue {queueId} of \"{topic}\": held by client \"{owner}\"" },
  RECEIPT_HANDLE_INVALID: { code: 4004, http: 400, message: "Cannot acknowledge: receipt handle \"{handle}\" is invalid or expired" },
  GROUP_CONSUME_DISABLED: { code: 4006, http: 403, message: "Cannot consume as group \"{group}\": its consumeEnable is false" },
  SUBSCRIPTION_CONFLICT: { code: 4005, http: 409, message: "Group \"{group}\" subscribes differently: {details}" },
  GROUP_LIMIT_REACHED: { code: 4020, http: 409, message: "Cannot create consumer group \"{group}\" by an offset commit: {groups} groups have offsets, limit is {limit}" },

  STORE_DISK_FULL: { code: 5001, http: 507, message: "Cannot append message: disk is {usedPercent}% full, limit is {limitPercent}%" },
  STORE_LOCKED: { code: 5002, http: 500, message: "Cannot open data dir \"{dir}\": it is locked by another process{holder}" },
  STORE_CLOSED: { code: 5003, http: 503, message: "Cannot use the store: it is {state}" },
  STORE_CORRUPT: { code: 5004, http: 500, message: "Cannot read {what}: {reason}" },
  STORE_IO: { code: 5005, http: 500, message: "Cannot {operation} \"{path}\": {reason}" },
  STORE_NOT_READY: { code: 5006, http: 503, message: "Cannot serve yet: {reason}" },
  STORE_FORMAT_UNSUPPORTED: { code: 5010, http: 500, message: "Cannot open data dir \"{dir}\": it is in store format {recorded}, this build reads format {supported}" },
  SCHEDULE_FULL: { code: 5020, http: 507, message: "Cannot schedule job \"{id}\": {jobs} jobs are scheduled, limit is {limit}" },
  FLUSH_TIMEOUT: { code: 5007, http: 504, message: "Cannot confirm durability: flush did not complete ({reason})" },

  BROKER_NOT_FOUND: { code: 6001, http: 404, message: "Cannot find broker \"{broker}\"" },
  NAMESRV_UNAVAILABLE: { code: 6002, http: 503, message: "Cannot reach any NameServer: asked {namesrvs}" },
  SLAVE_NOT_AVAILABLE: { code: 6003, http: 503, message: "Cannot confirm replication: no slave caught up within {timeoutMs} ms" },
  BROKER_NOT_MASTER: { code: 6004, http: 403, message: "Cannot write to broker \"{broker}\" (id {brokerId}): it is a slave, and replication does not exist yet; send to its master (id 0)" },

  ACCESS_DENIED: { code: 7001, http: 403, message: "Cannot {operation} \"{resource}\": access denied for \"{accessKey}\"" },
  SIGNATURE_INVALID: { code: 7002, http: 401, message: "Cannot authenticate \"{accessKey}\": signature does not match" },

  INTERNAL: { code: 9000, http: 500, message: "Internal error: {reason}" },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorName = keyof typeof errorCatalog;
export type ErrorParams = Record<string, string | number | boolean | undefined>;

const nameByCode = new Map<number, ErrorName>(
  (Object.keys(errorCatalog) as ErrorName[]).map((name) => [errorCatalog[name].code, name]),
);

export function errorNameForCode(code: number): ErrorName | undefined {
  return nameByCode.get(code);
}

export function formatErrorMessage(name: ErrorName, params: ErrorParams = {}): string {
  return errorCatalog[name].message.replace(/\{(\w+)\}/g, (whole, key: string) => {
    const value = params[key];
    return value === undefined ? whole : String(value);
  });
}

/** An error from the catalogue: carries the name, numeric code, HTTP status and params. */
export class MqError extends Error {
  override name = "MqError";
  readonly errorName: ErrorName;
  readonly code: number;
  readonly http: number;
  readonly params: ErrorParams;

  constructor(errorName: ErrorName, params: ErrorParams = {}, options?: { cause?: unknown; message?: string }) {
    super(options?.message ?? formatErrorMessage(errorName, params), options?.cause === undefined ? undefined : { cause: options.cause });
    this.errorName = errorName;
    this.code = errorCatalog[errorName].code;
    this.http = errorCatalog[errorName].http;
    this.params = params;
  }

  /** Rebuilds an error received from a peer: the code decides the name, the text is kept. */
  static fromCode(code: number, message: string, params: ErrorParams = {}): MqError {
    const name = errorNameForCode(code) ?? "INTERNAL";
    return new MqError(name, params, { message });
  }
}

export function isMqError(error: unknown, name?: ErrorName): error is MqError {
  return error instanceof MqError && (name === undefined || error.errorName === name);
}
