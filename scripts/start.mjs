// `npm start`: installs what is missing, then runs `mq start` (from source, under the Bun that npm
// installed) with any arguments given after `npm start --`. Runs under Node. SIGINT, SIGTERM and
// SIGHUP are passed on to mq, and this process exits as mq did, so one signal to the npm process
// (what Docker, systemd and pm2 send) stops everything: nothing is left holding the ports or the
// data dir's lock.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import "./ensure-deps.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bun = join(root, "node_modules", ".bin", process.platform === "win32" ? "bun.exe" : "bun");
// Its own process group: a Ctrl-C in the terminal reaches this process, which passes it on once
// (in the terminal's group too, mq would get it twice and take the second as "stop at once").
const child = spawn(bun, [join(root, "src", "cli", "main.ts"), "start", ...process.argv.slice(2)], { stdio: "inherit", detached: true });

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}
child.on("error", (error) => {
  console.error(`mq: cannot run ${bun}: ${error.message}`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  process.exit(code ?? (signal === null ? 1 : 128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 }[signal] ?? 1)));
});
