/**
 * One message: its body as pretty JSON, text or hex (bytes decoded from the API's utf8 or base64
 * form), its ids, times, hosts, tags, keys and user properties, and its trace timeline.
 */

import { useState } from "preact/hooks";
import type { MessageView } from "../api.ts";
import { formatTime, html } from "../ui.ts";
import { TraceTimeline } from "./trace-timeline.ts";

type BodyMode = "json" | "text" | "hex";

const hexBytesMax = 64 * 1024;

export function MessageDetail(props: { message: MessageView; onClose: () => void }) {
  const message = props.message;
  const bytes = bodyBytes(message);
  const json = tryJson(message);
  const [mode, setMode] = useState<BodyMode>(json === undefined ? (message.encoding === "utf8" ? "text" : "hex") : "json");
  const shown = mode === "json" ? json ?? "(not JSON)" : mode === "text" ? new TextDecoder().decode(bytes) : hexDump(bytes);
  return html`<aside class="card detail" aria-label="Message">
    <div class="detail-head">
      <h3>Message <span class="mono">${message.msgId}</span></h3>
      <button type="button" onClick=${props.onClose} aria-label="Close message">✕</button>
    </div>
    <table class="kv">
      <tbody>
        <tr><th>msgId</th><td class="mono">${message.msgId}</td></tr>
        <tr><th>offsetMsgId</th><td class="mono">${message.offsetMsgId}</td></tr>
        <tr><th>Topic / queue / offset</th><td>${message.topic} / ${message.queueId} / ${message.queueOffset}</td></tr>
        <tr><th>Tag</th><td>${message.tags ?? "—"}</td></tr>
        <tr><th>Keys</th><td>${message.keys.join(", ") || "—"}</td></tr>
        <tr><th>Born</th><td>${formatTime(message.bornTimestampMs)} <span class="muted mono">${message.bornHost}</span></td></tr>
        <tr><th>Stored</th><td>${formatTime(message.storeTimestampMs)} <span class="muted mono">${message.storeHost}</span></td></tr>
        <tr><th>Reconsumed</th><td>${message.reconsumeTimes} times</td></tr>
        <tr><th>Size</th><td>${bytes.length} B body, ${message.storeSize} B stored</td></tr>
      </tbody>
    </table>
    <h4>Properties</h4>
    ${Object.keys(message.properties).length === 0
      ? html`<p class="muted">None.</p>`
      : html`<table class="kv" aria-label="Properties"><tbody>${Object.entries(message.properties).map(([name, value]) => html`<tr><th class="mono">${name}</th><td class="mono">${value}</td></tr>`)}</tbody></table>`}
    <h4>Body</h4>
    <div class="tabs" role="tablist">
      ${(["json", "text", "hex"] as const).map((each) => html`<button type="button" role="tab" aria-selected=${mode === each} class=${mode === each ? "tab active" : "tab"} onClick=${() => setMode(each)}>${each.toUpperCase()}</button>`)}
    </div>
    <pre class="body-view" data-mode=${mode}>${shown}</pre>
    <${TraceTimeline} key=${message.msgId} msgId=${message.msgId} />
  </aside>`;
}

export function bodyBytes(message: MessageView): Uint8Array {
  if (message.encoding === "utf8") return new TextEncoder().encode(message.body);
  const binary = atob(message.body.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

function tryJson(message: MessageView): string | undefined {
  if (message.encoding !== "utf8") return undefined;
  try {
    return JSON.stringify(JSON.parse(message.body), null, 2);
  } catch {
    return undefined;
  }
}

/** Offset, 16 bytes in hex, and their printable ASCII: the classic dump, first 64 KiB. */
export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  const end = Math.min(bytes.length, hexBytesMax);
  for (let offset = 0; offset < end; offset += 16) {
    const row = bytes.subarray(offset, Math.min(offset + 16, end));
    const hex = [...row].map((byte) => byte.toString(16).padStart(2, "0")).join(" ");
    const ascii = [...row].map((byte) => (byte >= 32 && byte < 127 ? String.fromCharCode(byte) : ".")).join("");
    lines.push(`${offset.toString(16).padStart(8, "0")}  ${hex.padEnd(47)}  ${ascii}`);
  }
  if (bytes.length > end) lines.push(`… ${bytes.length - end} more bytes`);
  return lines.join("\n");
}

/** The first characters of a body for a table cell. */
export function bodyPreview(message: MessageView): string {
  const text = message.encoding === "utf8" ? message.body : `base64:${message.body}`;
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}
