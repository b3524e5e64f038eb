/** The topic page's test-message form: body, tag, keys and properties, sent after a confirmation. */

import { useState } from "preact/hooks";
import { enc, mutate } from "../api.ts";
import { type PendingAction, html, inputValue } from "../ui.ts";

interface SendAnswer {
  msgId: string;
  offsetMsgId: string;
  queueId: number;
  queueOffset: number;
}

export function TestMessageForm(props: { topic: string; ask: (action: PendingAction) => void }) {
  const [body, setBody] = useState('{"hello":"mq"}');
  const [tags, setTags] = useState("");
  const [keys, setKeys] = useState("");
  const [properties, setProperties] = useState("");
  const [sent, setSent] = useState<SendAnswer | undefined>(undefined);
  const send = (event: Event) => {
    event.preventDefault();
    const message = {
      body,
      ...(tags.trim() === "" ? {} : { tags: tags.trim() }),
      ...(keys.trim() === "" ? {} : { keys: keys.split(",").map((key) => key.trim()).filter((key) => key !== "") }),
      ...(properties.trim() === "" ? {} : { properties: Object.fromEntries(properties.split(",").map((pair) => pair.split("=", 2).map((part) => part.trim()) as [string, string])) }),
    };
    props.ask({
      title: `Send a test message to "${props.topic}"?`,
      detail: html`<pre class="body-view">${JSON.stringify(message, null, 2)}</pre>`,
      confirmLabel: "Send",
      run: async () => setSent(await mutate<SendAnswer>("POST", `/topics/${enc(props.topic)}/messages`, message)),
    });
  };
  return html`<form class="send-form" onSubmit=${send} aria-label="Send a test message">
    <textarea rows="3" value=${body} onInput=${(event: Event) => setBody(inputValue(event))} aria-label="Body"></textarea>
    <div class="toolbar">
      <input placeholder="Tag" value=${tags} onInput=${(event: Event) => setTags(inputValue(event))} aria-label="Tag" />
      <input placeholder="Keys (comma separated)" value=${keys} onInput=${(event: Event) => setKeys(inputValue(event))} aria-label="Keys" />
      <input placeholder="Properties (a=1, b=2)" value=${properties} onInput=${(event: Event) => setProperties(inputValue(event))} aria-label="Properties" />
      <button type="submit" class="primary">Send</button>
    </div>
    ${sent === undefined ? null : html`<p class="ok" role="status">Sent: msgId <span class="mono">${sent.msgId}</span>, queue ${sent.queueId}, offset ${sent.queueOffset}</p>`}
  </form>`;
}
