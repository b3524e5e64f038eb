/**
 * A strict reader of the Prometheus text exposition format, for tests: every line must be a
 * comment (`# HELP` / `# TYPE` with a known type) or `name{labels} value`, label values properly
 * escaped, every sample's family declared by a TYPE line before it. Throws on anything else.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const samplePattern = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\["\\n])*)"(,|$)/y;

export function parsePrometheusText(text: string): Sample[] {
  if (!text.endsWith("\n")) throw new Error("exposition text must end with a newline");
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("# TYPE ")) {
      const [name, type] = line.slice(7).split(" ");
      if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(type ?? "")) throw new Error(`bad TYPE line: ${line}`);
      if (types.has(name!)) throw new Error(`family ${name} declared twice`);
      types.set(name!, type!);
      continue;
    }
    if (line.startsWith("#")) continue;
    const match = samplePattern.exec(line);
    if (match === null) throw new Error(`bad sample line: ${JSON.stringify(line)}`);
    const [, name, labelText, valueText] = match;
    const family = name!.replace(/_(bucket|sum|count)$/, "");
    if (!types.has(name!) && !(types.get(family) === "histogram")) throw new Error(`sample ${name} has no TYPE line`);
    const labels: Record<string, string> = {};
    if (labelText !== undefined && labelText.length > 0) {
      labelPattern.lastIndex = 0;
      while (labelPattern.lastIndex < labelText.length) {
        const label = labelPattern.exec(labelText);
        if (label === null) throw new Error(`bad labels: ${labelText}`);
        labels[label[1]!] = label[2]!.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
      }
    }
    const value = valueText === "+Inf" ? Infinity : valueText === "-Inf" ? -Infinity : Number(valueText);
    if (Number.isNaN(value) && valueText !== "NaN") throw new Error(`bad value: ${line}`);
    samples.push({ name: name!, labels, value });
  }
  return samples;
}
