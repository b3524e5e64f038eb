/**
 * A broker's role in its broker group (DESIGN.md §8): broker id 0 is the master, every other id
 * a slave. Brokers, NameServers and clients all derive it from the id with this one function, so
 * they cannot disagree. Until replication exists a slave holds none of its master's messages:
 * it refuses writes (BROKER_NOT_MASTER) and clients neither send to it nor read from it.
 */

export type BrokerRole = "master" | "slave";

/** The id of a broker group's master; in route maps it is the key "0". */
export const masterBrokerId = 0;

export function brokerRoleOf(brokerId: number): BrokerRole {
  return brokerId === masterBrokerId ? "master" : "slave";
}
