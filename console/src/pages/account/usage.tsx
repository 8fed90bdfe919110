/**
 * Plan and usage (`GET /account/usage`): for each group of counters, a bar per counter with
 * the share of its limit, and a table with the numbers (the charts' text alternative, and the
 * only view of counters the plan does not limit). The API has no daily history: bars only.
 */
import type { LimitJson, UsageLineJson, UsageReportJson } from "../../../../src/http/api_types.js";
import { get } from "../../api/client.js";
import { BarChart, level, type Bar } from "../../components/bar_chart.js";
import { ErrorText } from "../../components/error_text.js";
import { useApi } from "../../hooks/use_api.js";
import { TableScroll } from "../../components/table_scroll.js";

interface Counter {
  label: string;
  /** The axis's shorter name. */
  short: string;
  line: UsageLineJson;
}

function groups(r: UsageReportJson): { title: string; note: string; counters: Counter[] }[] {
  const u = r.usage;
  return [
    {
      title: `This month (${r.period}, UTC)`,
      note: "Totals since the 1st; they start again next month.",
      counters: [
        { label: "Records stored", short: "Records", line: u.recordsPerMonth },
        { label: "Analysis runs", short: "Runs", line: u.analysisRunsPerMonth },
        { label: "Notifications", short: "Notifications", line: u.notificationsPerMonth },
        { label: "Emails", short: "Emails", line: u.emailsPerMonth },
      ],
    },
    {
      title: "Right now",
      note: "What exists or is connected at this moment.",
      counters: [
        { label: "Devices", short: "Devices", line: u.devices },
        { label: "MQTT connections", short: "Connections", line: u.connections },
        { label: "MQTT subscriptions", short: "Subscriptions", line: u.subscriptions },
      ],
    },
    {
      title: "Last minute",
      note: "Rates: what the last minute's allowance holds.",
      counters: [
        { label: "MQTT publishes per minute", short: "Publishes", line: u.publishesPerMinute },
        { label: "Records per minute", short: "Records", line: u.recordsPerMinute },
        { label: "Data requests per minute (POST/GET /data)", short: "Data API", line: u.http.data },
        { label: "Data edits per minute (PUT/DELETE /data)", short: "Edits", line: u.http.dataEdits },
        { label: "Aggregate queries per minute", short: "Aggregates", line: u.http.aggregate },
        { label: "Devices created per minute", short: "New devices", line: u.http.deviceCreates },
      ],
    },
  ];
}

const number = (n: number) => n.toLocaleString();
const limitText = (l: LimitJson) => (l === null ? "No limit" : number(l));
const percentOf = (line: UsageLineJson) => (line.limit === null ? undefined : line.limit === 0 ? (line.used > 0 ? 100 : 0) : (line.used / line.limit) * 100);

export default function UsageTab() {
  const report = useApi((signal) => get<UsageReportJson>("/account/usage", undefined, signal), []);
  const r = report.data;
  return (
    <div class="usage-tab">
      <div class="toolbar">
        <button type="button" class="btn" onClick={report.reload} disabled={report.loading}>
          {report.loading ? "Reading…" : "Refresh"}
        </button>
        {r && (
          <span class="muted">
            Plan <strong class="plan-name">{r.plan}</strong>
          </span>
        )}
      </div>
      <ErrorText error={report.error} />
      {r && (
        <>
          {groups(r).map((g) => {
            const limited = g.counters.filter((c) => c.line.limit !== null);
            const bars: Bar[] = limited.map((c) => ({ label: c.short, percent: percentOf(c.line)! }));
            const id = `usage-${g.title.split(" ")[0]!.toLowerCase()}`;
            return (
              <section class="card usage-group" key={g.title} aria-labelledby={id}>
                <h2 id={id}>{g.title}</h2>
                <p class="hint">{g.note}</p>
                {bars.length > 0 ? (
                  <BarChart bars={bars} label={`${g.title}: share of each limit used. The table below gives the numbers.`} />
                ) : (
                  <p class="muted small">The {r.plan} plan sets no limit on these.</p>
                )}
                <UsageTable counters={g.counters} title={g.title} />
              </section>
            );
          })}
          <PlanFacts report={r} />
        </>
      )}
    </div>
  );
}

function UsageTable({ counters, title }: { counters: Counter[]; title: string }) {
  return (
    <TableScroll label={`${title} numbers`}>
      <table class="grid usage-table">
        <thead>
          <tr>
            <th scope="col">Counter</th>
            <th scope="col" class="num">Used</th>
            <th scope="col" class="num">Limit</th>
            <th scope="col" class="num">Share</th>
          </tr>
        </thead>
        <tbody>
          {counters.map((c) => {
            const p = percentOf(c.line);
            return (
              <tr key={c.label}>
                <th scope="row" class="wrap">
                  {c.label}
                </th>
                <td class="num">{number(c.line.used)}</td>
                <td class="num">{limitText(c.line.limit)}</td>
                <td class={`num ${p === undefined ? "muted" : level(p)}`}>{p === undefined ? "—" : `${p < 1 && p > 0 ? "<1" : Math.round(p)}%`}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </TableScroll>
  );
}

/** The plan's other terms: what it allows rather than what is counted. */
function PlanFacts({ report: r }: { report: UsageReportJson }) {
  const l = r.limits;
  const yes = (b: boolean) => (b ? "Yes" : "No");
  return (
    <section class="card usage-group" aria-labelledby="plan-title">
      <h2 id="plan-title">The {r.plan} plan</h2>
      <dl class="facts">
        <dt>MQTT broker</dt>
        <dd>{yes(l.features.broker)}</dd>
        <dt>Analyses</dt>
        <dd>{yes(l.features.analysis)}</dd>
        <dt>MQTT relays</dt>
        <dd>{l.features.relay ? limitText(l.relays) : "No"}</dd>
        <dt>Largest payload</dt>
        <dd>{l.maxPayloadBytes === null ? "No limit" : `${number(l.maxPayloadBytes)} bytes`}</dd>
        <dt>Connections per device</dt>
        <dd>{limitText(l.connectionsPerDevice)}</dd>
        <dt>Persistent sessions</dt>
        <dd>{limitText(l.persistentSessions)}</dd>
      </dl>
    </section>
  );
}
