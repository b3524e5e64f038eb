/**
 * `mq cluster list`: every live broker as the NameServer sees it — cluster, broker name, id and
 * role as the NameServer reports it (id 0 is the master, any other a slave), address, version, how long ago it last
 * heartbeated, and how many topics it registered. Needs `--namesrv` (or MQ_NAMESRV).
 */

import { MqError } from "../common/errors.ts";
import { brokerRoleOf } from "../protocol/broker-role.ts";
import { clientTarget } from "./options.ts";
import { createOutput, formatTable } from "./output.ts";
import { nounCommand } from "./subcommands.ts";
import { withAdmin } from "./topic-command.ts";

type Options = Record<string, unknown>;

/** `850 ms`, `12.3 s`, `4 m 05 s`: short enough for a table column. */
export function formatAge(ageMs: number): string {
  if (ageMs < 1_000) return `${ageMs} ms`;
  if (ageMs < 60_000) return `${(ageMs / 1_000).toFixed(1)} s`;
  const seconds = Math.floor(ageMs / 1_000);
  return `${Math.floor(seconds / 60)} m ${String(seconds % 60).padStart(2, "0")} s`;
}

export const clusterCommand = nounCommand({
  name: "cluster",
  summary: "List the brokers of a cluster (needs --namesrv)",
  define(cli) {
    cli.command("list", "Brokers, addresses, roles, versions, last heartbeat age, topics").action((options: Options) => {
      if (clientTarget(options).namesrv === undefined) {
        throw new MqError("BAD_REQUEST", { reason: "mq cluster list asks a NameServer: give --namesrv host:port or set MQ_NAMESRV" });
      }
      return withAdmin(options, async (admin) => {
        const { brokers } = await admin.clusterInfo();
        const sorted = [...brokers].sort((a, b) => a.clusterName.localeCompare(b.clusterName) || a.brokerName.localeCompare(b.brokerName) || a.brokerId - b.brokerId);
        const rows = sorted.map((broker) => ({ ...broker, role: broker.role ?? brokerRoleOf(broker.brokerId) }));
        createOutput(options.json === true).result({ brokers: rows }, () =>
          formatTable(
            rows.map((broker) => ({
              cluster: broker.clusterName,
              broker: broker.brokerName,
              id: broker.brokerId,
              role: broker.role,
              address: broker.brokerAddr,
              version: broker.version,
              heartbeat: `${formatAge(broker.lastHeartbeatAgeMs)} ago`,
              topics: broker.topics,
            })),
          ),
        );
      });
    });
  },
});
