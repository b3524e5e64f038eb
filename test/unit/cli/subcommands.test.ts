import { describe, expect, test } from "bun:test";
import { nounCommand, protectDigits, restoreDigits } from "../../../src/cli/subcommands.ts";

describe("CLI argument parsing", () => {
  test("values that look like numbers reach commands exactly as typed", async () => {
    let seen: unknown[] = [];
    const command = nounCommand({
      name: "probe",
      summary: "test",
      define(cli) {
        cli
          .command("get <id>", "get")
          .option("--key <key>", "key", { type: [String] })
          .action((id: string, options: Record<string, unknown>) => {
            seen = [id, options.key];
          });
      },
    });
    expect(await command.run(["get", "00000000000000000000000000000042", "--key", "0042"])).toBe(0);
    expect(seen).toEqual(["00000000000000000000000000000042", ["0042"]]);
    expect(await command.run(["get", "9007199254740993", "--key=007"])).toBe(0);
    expect(seen).toEqual(["9007199254740993", ["007"]]);
  });

  test("marking is undone for every shape of value", () => {
    expect(restoreDigits(protectDigits("0042"))).toBe("0042");
    expect(protectDigits("--key=12")).not.toBe("--key=12");
    expect(protectDigits("topic")).toBe("topic");
    expect(protectDigits("-v")).toBe("-v");
    expect(restoreDigits([protectDigits("1"), "a"])).toEqual(["1", "a"]);
    expect(restoreDigits(true)).toBe(true);
  });

  test("an unknown subcommand or option is an error, not a silent success", async () => {
    const command = nounCommand({ name: "probe", summary: "test", define: (cli) => void cli.command("list", "list").action(() => {}) });
    expect(await command.run(["frob"])).toBe(2);
    expect(await command.run(["list", "--nope"])).toBe(2);
    expect(await command.run([])).toBe(2);
  });
});
