/**
 * A table of messages, shared by the browser, the key lookup and the live tail. A page holds up
 * to 1,000 rows, so the table is built for that: rows are CSS-grid rows at fixed column widths
 * (nothing measures 1,000 rows' contents), rows off screen skip layout and paint
 * (`content-visibility: auto`), and one click listener finds the row by its index. ARIA roles
 * keep it a table to assistive technology.
 */

import { useLayoutEffect } from "preact/hooks";
import type { MessageView } from "../api.ts";
import { formatTime, html } from "../ui.ts";
import { bodyPreview } from "./message-detail.ts";

/** Marks "messages-rendered" when the rows are committed to the page (the benchmark reads it). */
export function MessageTable(props: { messages: readonly MessageView[]; onSelect: (message: MessageView) => void }) {
  useLayoutEffect(() => {
    performance.mark("messages-rendered");
  }, [props.messages]);
  const onClick = (event: MouseEvent) => {
    const row = (event.target as HTMLElement).closest<HTMLElement>("[data-index]");
    const message = props.messages[Number(row?.dataset.index)];
    if (message !== undefined) props.onSelect(message);
  };
  return html`<div class="message-table" role="table" aria-label="Messages">
    <div class="message-row message-head" role="row">
      <span role="columnheader">Queue</span><span role="columnheader">Offset</span><span role="columnheader">Stored</span><span role="columnheader">Tag</span>
      <span role="columnheader">Keys</span><span role="columnheader">msgId</span><span role="columnheader">Body</span>
    </div>
    <div role="rowgroup" onClick=${onClick}>
      ${props.messages.map(
        (message, index) => html`<div key=${message.offsetMsgId} data-index=${index} class="message-row clickable" role="row">
          <span role="cell" class="num">${message.queueId}</span><span role="cell" class="num">${message.queueOffset}</span><span role="cell">${formatTime(message.storeTimestampMs)}</span>
          <span role="cell">${message.tags ?? ""}</span><span role="cell">${message.keys.join(", ")}</span><span role="cell" class="mono">${message.msgId}</span><span role="cell">${bodyPreview(message)}</span>
        </div>`,
      )}
    </div>
  </div>`;
}
