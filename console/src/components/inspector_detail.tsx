/**
 * One Live Inspector event in full, in a panel beside (or, on a phone, below) the list, so the
 * list's rows keep one height. Knows the shapes producers record (src/inspector/*, the pipeline):
 * payload previews get the text/hex/JSON selector, record lists a table, reason codes their hex;
 * any other field is shown as it came, and the whole detail as JSON at the end.
 */
import { Fragment, type JSX } from "preact";
import type { InspectorEventJson } from "../../../src/http/api_types.js";
import { isRefusal, KIND_LABEL } from "../pages/device/inspector_kinds.js";
import { isPayloadPreview, PayloadView } from "./payload_view.js";
import { isRecordList, RecordsTable } from "./records_table.js";

const FIELD_LABEL: Record<string, string> = {
  clientId: "Client id",
  transport: "Transport",
  remoteAddress: "Remote address",
  sessionPresent: "Session present",
  reason: "Reason",
  reasonCode: "Reason code",
  topic: "Topic",
  qos: "QoS",
  retain: "Retained",
  origin: "Origin",
  relay: "Relay",
  code: "Code",
  limit: "Limit",
  action: "Action",
  type: "Type",
  event: "Event",
  url: "URL",
  status: "Status",
  attempts: "Attempts",
  error: "Error",
  filters: "Filters",
  found: "Found",
  truncated: "Cut to the inspector's size limit",
};

function value(key: string, v: unknown): string {
  if (key === "reasonCode" && typeof v === "number") return `0x${v.toString(16).padStart(2, "0")} (${v})`;
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "yes" : "no";
  return JSON.stringify(v);
}

export function formatTime(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

interface Subscription {
  filter: string;
  qos: number;
  reasonCode: number;
}

export function InspectorDetail({ event, onClose }: { event: InspectorEventJson; onClose: () => void }) {
  const detail = event.detail ?? {};
  const fields: [string, unknown][] = [];
  const blocks: JSX.Element[] = [];
  for (const [key, v] of Object.entries(detail)) {
    if (isPayloadPreview(v)) blocks.push(<PayloadView key={`${event.id}-${key}`} preview={v} label={key === "payload" ? "Payload" : key} />);
    else if (isRecordList(v)) blocks.push(<RecordsBlock key={key} name={key} records={v} kind={event.kind} />);
    else if (key === "subscriptions" && Array.isArray(v)) blocks.push(<Subscriptions key={key} list={v as Subscription[]} />);
    else if (typeof v === "object" && v !== null) blocks.push(<JsonBlock key={key} title={FIELD_LABEL[key] ?? key} value={v} />);
    else fields.push([key, v]);
  }
  return (
    <div class="insp-detail-body">
      <div class="insp-detail-head">
        <h2 id="insp-detail-title">
          <span class={`insp-kind k-${event.kind}${isRefusal(event) ? " refusal" : ""}`}>{isRefusal(event) ? "plan refusal" : KIND_LABEL[event.kind]}</span> event {event.id}
        </h2>
        <button type="button" class="btn small" onClick={onClose}>
          Close
        </button>
      </div>
      <p class="insp-detail-summary">{event.summary}</p>
      <dl class="insp-fields">
        <dt>Time</dt>
        <dd>
          <time dateTime={event.time} title={event.time}>
            {new Date(event.time).toLocaleDateString()} {formatTime(event.time)}
          </time>
        </dd>
        {fields.map(([key, v]) => (
          <Fragment key={key}>
            <dt>{FIELD_LABEL[key] ?? key}</dt>
            <dd class={key === "code" || key === "topic" || key === "clientId" ? "mono" : undefined}>{value(key, v)}</dd>
          </Fragment>
        ))}
      </dl>
      {blocks}
      {event.detail && (
        <details class="insp-raw">
          <summary>Detail as JSON</summary>
          <pre>{JSON.stringify(event.detail, null, 2)}</pre>
        </details>
      )}
    </div>
  );
}

function RecordsBlock({ name, records, kind }: { name: string; records: unknown[]; kind: InspectorEventJson["kind"] }) {
  const title = kind === "parser_output" ? "Output records" : kind === "parser_input" ? "Input records" : name === "records" ? "Records" : name;
  return (
    <section class="insp-block">
      <h3>{title}</h3>
      <RecordsTable records={records} caption={title} />
    </section>
  );
}

function Subscriptions({ list }: { list: Subscription[] }) {
  return (
    <section class="insp-block">
      <h3>Subscriptions</h3>
      <ul class="insp-subs">
        {list.map((s, i) => (
          <li key={i}>
            <code>{s.filter}</code> {s.reasonCode < 0x80 ? `granted QoS ${s.reasonCode}` : <span class="error">refused 0x{s.reasonCode.toString(16)}</span>}
          </li>
        ))}
      </ul>
    </section>
  );
}

function JsonBlock({ title, value: v }: { title: string; value: unknown }) {
  return (
    <section class="insp-block">
      <h3>{title}</h3>
      <pre>{JSON.stringify(v, null, 2)}</pre>
    </section>
  );
}
