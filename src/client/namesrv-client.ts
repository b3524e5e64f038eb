/**
 * Requests to the NameServers of a cluster (DESIGN.md §7). NameServers share nothing — every
 * broker registers with each — so any one can answer. A client starts at a random one (spreading
 * clients over them) and stays with whichever answered last; when it cannot be reached it tries
 * the next, round-robin, until one answers or all were asked (NAMESRV_UNAVAILABLE).
 *
 * A topic one NameServer does not know (TOPIC_NOT_FOUND) is asked of the others as well: a
 * NameServer that just restarted has not heard every broker's registration yet. Only when none
 * knows it does the caller get NO_ROUTE, naming the topic and the NameServers asked.
 */

import { MqError, isMqError } from "../common/errors.ts";
import { RequestCode } from "../protocol/request-codes.ts";
import { type ClusterInfo, type TopicRouteData, clusterInfoSchema, topicRouteSchema } from "../protocol/responses.ts";
import type { BrokerClient } from "./broker-client.ts";
import { parseAddress } from "./connection-pool.ts";
import { isRetriable } from "./retry-policy.ts";

export const namesrvPortDefault = 9876;

export interface NamesrvClientOptions {
  /** `host:port` of each NameServer. */
  readonly addresses: readonly string[];
  readonly broker: BrokerClient;
  /** In [0, 1): picks the first NameServer (injected so tests can choose). */
  readonly random?: () => number;
  readonly timeoutMs?: number;
}

/** `"host:port;host:port"` (commas work too) into checked addresses; a bare host gets port 9876. */
export function parseNamesrvList(list: string): string[] {
  const addresses = list
    .split(/[;,]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry) => (/:\d+$/.test(entry) ? entry : `${entry}:${namesrvPortDefault}`));
  if (addresses.length === 0) throw new MqError("INVALID_FIELD", { field: "namesrv", reason: `expects host:port[;host:port], got "${list}"` });
  for (const address of addresses) parseAddress(address);
  return addresses;
}

export class NamesrvClient {
  readonly addresses: readonly string[];
  private current: number;

  constructor(private readonly options: NamesrvClientOptions) {
    if (options.addresses.length === 0) throw new MqError("INVALID_FIELD", { field: "namesrv", reason: "needs at least one address" });
    this.addresses = [...options.addresses];
    const random = options.random ?? Math.random;
    this.current = Math.min(this.addresses.length - 1, Math.floor(random() * this.addresses.length));
  }

  /** The NameServer the next request goes to first. */
  get currentAddress(): string {
    return this.addresses[this.current]!;
  }

  async topicRoute(topic: string): Promise<TopicRouteData> {
    return this.ask(topic, async (address) => {
      const { fields } = await this.options.broker.call(address, RequestCode.GET_ROUTE, { topic }, topicRouteSchema, { timeoutMs: this.options.timeoutMs });
      return fields;
    });
  }

  async clusterInfo(): Promise<ClusterInfo> {
    return this.ask(undefined, async (address) => {
      const { fields } = await this.options.broker.call(address, RequestCode.GET_CLUSTER_INFO, {}, clusterInfoSchema, { timeoutMs: this.options.timeoutMs });
      return fields;
    });
  }

  /** Tries each NameServer once, starting with the current one; moves `current` to the one that answered. */
  private async ask<T>(topic: string | undefined, request: (address: string) => Promise<T>): Promise<T> {
    let notFound: MqError | undefined;
    let unreachable: unknown;
    const count = this.addresses.length;
    const start = this.current;
    for (let step = 0; step < count; step++) {
      const index = (start + step) % count;
      try {
        const answer = await request(this.addresses[index]!);
        this.current = index;
        return answer;
      } catch (error) {
        if (topic !== undefined && isMqError(error, "TOPIC_NOT_FOUND")) {
          notFound = error;
          continue;
        }
        if (!isRetriable(error) && isMqError(error)) throw error; // the NameServer answered: asking another changes nothing
        unreachable = error;
        // Move on for good: the next request should not wait on a dead NameServer first.
        if (this.current === index) this.current = (index + 1) % count;
      }
    }
    const namesrvs = this.addresses.join(", ");
    if (notFound !== undefined) throw new MqError("NO_ROUTE", { topic, namesrvs }, { cause: notFound });
    throw new MqError("NAMESRV_UNAVAILABLE", { namesrvs }, { cause: unreachable });
  }
}
