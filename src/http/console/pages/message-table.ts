/** A table of messages, shared by the browser, the key lookup and the live tail. */

import { useEffect } from "preact/hooks";
import type { MessageView } from "../api.ts";
import { formatTime, html } from "../ui.ts";
import { bodyPreview } from "./message-detail.ts";

/** Rows of messages; a click opens one. Marks "messages-rendered" once the rows are in the page. */
export function MessageTable(props: { messages: readonly MessageView[]; onSelect: (message: MessageView) => void }) {
  useEffect(() => {
    performance.mark("messages-rendered");
  }, [props.messages]);
  return html`<table class="grid messages" aria-label="Messages">
    <thead><tr><th>Queue</th><th>Offset</th><th>Stored</th><th>Tag</th><th>Keys</th><th>msgId</th><th>Body</th></tr></thead>
    <tbody>
      ${props.messages.map(
        (message) => html`<tr key=${message.offsetMsgId} class="clickable" onClick=${() => props.onSelect(message)}>
          <td class="num">${message.queueId}</td><td class="num">${message.queueOffset}</td><td>${formatTime(message.storeTimestampMs)}</td>
          <td>${message.tags ?? ""}</td><td>${message.keys.join(", ")}</td><td class="mono">${message.msgId}</td><td class="preview">${bodyPreview(message)}</td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}
