import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { defaultConfig } from "../../src/config/schema.js";
import { call, resourcesOf, waitFor } from "../helpers/analysis.js";
import { decodeHeader, firstPagePng, mimeParts, readPdf } from "../helpers/pdf_tools.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp_sink.js";

// Reports without code: a data query to PDF and CSV, on demand and on a cron schedule, mailed
// to a local SMTP server and kept for download, bounded per account.

const credentials = { user: "sluice", password: "p4ss" };
let smtp: SmtpSink;
let sluice: TestSluice;
let deviceA: string;
let deviceB: string;
const HOUR = 3600_000;

before(async () => {
  smtp = await startSmtpSink(credentials);
  sluice = await startSluice({
    smtp: { ...defaultConfig.smtp, host: "127.0.0.1", port: smtp.port, requireTLS: false, user: credentials.user, password: credentials.password, from: "Sluice <reports@sluice.test>" },
    reports: { ...defaultConfig.reports, minIntervalSeconds: 2, maxFilesPerAccount: 4 },
  });
  const resources = resourcesOf(sluice);
  deviceA = (await sluice.device()).deviceId;
  deviceB = (await sluice.device()).deviceId;
  await resources.devices.edit(deviceA, { name: "Cold room A" });
  await resources.devices.edit(deviceB, { name: "Cold room B" });
  // 30 records per device and variable over the last 5 hours: a table of 120 rows, two or more pages.
  const now = Date.now();
  for (const [device, offset] of [[deviceA, 0], [deviceB, 10]] as const) {
    const records = Array.from({ length: 30 }, (_, i) => [
      { variable: "temperature", value: offset + 2 + (i % 7) * 0.5, unit: "°C", time: new Date(now - 5 * HOUR + i * 10 * 60_000).toISOString() },
      { variable: "humidity", value: 60 + i, unit: "%", time: new Date(now - 5 * HOUR + i * 10 * 60_000).toISOString() },
    ]).flat();
    await resources.devices.sendDeviceData(device, records);
  }
  // Outside the period: never in the report.
  await resources.devices.sendDeviceData(deviceA, [{ variable: "temperature", value: -99, time: new Date(now - 30 * HOUR).toISOString() }]);
});
after(async () => {
  await sluice.close();
  await smtp.close();
});

async function create(body: unknown, token = sluice.adminToken): Promise<string> {
  const answer = await call(sluice, "POST", "/report", body, token);
  assert.equal(answer.status, 200, answer.body.message);
  return (answer.body.result as { id: string }).id;
}

describe("reports", () => {
  test("a scheduled data report mails its PDF and CSV and keeps them for download", async () => {
    const before = smtp.mails.length;
    const id = await create({
      name: "Cold rooms daily",
      title: "Cold rooms – last 6 hours",
      format: ["pdf", "csv"],
      query: { devices: [deviceA, deviceB], variables: ["temperature", "humidity"], range: "6 hours" },
      schedule: { cron: "*/3 * * * * *", timezone: "Europe/Lisbon" },
      recipients: ["ops@example.com", "quality@example.com"],
    });
    const info = (await call(sluice, "GET", `/report/${id}`)).body.result;
    assert.equal(info.type, "data");
    assert.deepEqual(info.format, ["pdf", "csv"]);
    assert.equal(info.timezone, "Europe/Lisbon");
    assert.ok(Date.parse(info.next_run) - Date.now() <= 3100, info.next_run);

    const mail = (await smtp.waitFor(before + 1, 20_000))[before]!;
    // Stop it before the next one fires while the test reads this one.
    assert.equal((await call(sluice, "PUT", `/report/${id}`, { active: false })).status, 200);
    assert.deepEqual(mail.to, ["ops@example.com", "quality@example.com"]);
    assert.match(decodeHeader(mail.headers.subject!), /^Cold rooms – last 6 hours – \d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
    const parts = mimeParts(mail.raw);
    const pdfPart = parts.find((p) => p.filename?.endsWith(".pdf"));
    const csvPart = parts.find((p) => p.filename?.endsWith(".csv"));
    assert.ok(pdfPart && csvPart, parts.map((p) => p.filename).join(", "));
    assert.match(pdfPart.filename!, /^cold-rooms-daily-\d{8}-\d{4}\.pdf$/);
    assert.match(parts.find((p) => p.filename === undefined)!.content.toString(), /Period: .* \(Europe\/Lisbon\)/);

    const facts = readPdf(pdfPart.content);
    assert.ok(facts.pages >= 2, `${facts.pages} pages`);
    assert.equal(facts.title, "Cold rooms – last 6 hours");
    assert.match(facts.text, /Cold rooms – last 6 hours/);
    assert.match(facts.text, new RegExp(`Page 1 of ${facts.pages}`));
    // The summary: per device and variable, records, min, max, average, last.
    const line = (device: string, variable: string) => facts.text.split("\n").find((l) => l.includes(device) && l.includes(variable) && /\d+\s+[\d.]+\s+[\d.]+/.test(l)) ?? "";
    assert.match(line("Cold room A", "temperature"), /°C\s+30\s+2\s+5\s+3\.42\s+2\.5\b/);
    assert.match(line("Cold room B", "temperature"), /°C\s+30\s+12\s+15\s+13\.42\s+12\.5\b/);
    assert.match(line("Cold room A", "humidity"), /%\s+30\s+60\s+89\s+74\.5\s+89\b/);
    assert.doesNotMatch(facts.text, /-99/, "a record outside the period");
    assert.equal(facts.pngs.length, facts.pages);
    // A picture of the first page, for people (docs/reports/report-page1.png is one of these).
    mkdirSync(join(process.cwd(), "test-output", "reports"), { recursive: true });
    writeFileSync(join(process.cwd(), "test-output", "reports", "report-page1.png"), firstPagePng(pdfPart.content, 80));

    const csv = csvPart.content.toString().trim().split("\r\n");
    assert.equal(csv[0], "time,device_id,device,variable,value,unit,group");
    assert.equal(csv.length, 1 + 120);
    assert.ok(csv.some((l) => l.includes(`,${deviceB},Cold room B,temperature,15,°C,`)), csv.slice(0, 5).join("\n"));

    // Kept: listed with the report, downloadable with an account token, the same bytes.
    const files = (await call(sluice, "GET", `/report/${id}/file`)).body.result as { id: string; name: string; url: string; size: number }[];
    const pdfFile = files.find((f) => f.name === pdfPart.filename)!;
    assert.ok(pdfFile, JSON.stringify(files));
    const download = await fetch(`${sluice.api}${pdfFile.url}`, { headers: { token: sluice.adminToken } });
    assert.equal(download.status, 200);
    assert.equal(download.headers.get("content-type"), "application/pdf");
    assert.match(download.headers.get("content-disposition")!, /^attachment; filename="cold-rooms-daily-/);
    assert.deepEqual(Buffer.from(await download.arrayBuffer()), pdfPart.content);
    assert.equal((await fetch(`${sluice.api}${pdfFile.url}`)).status, 401);

    const after = (await call(sluice, "GET", `/report/${id}`)).body.result;
    assert.equal(after.last_run.status, "ok", after.last_run.message);
    assert.match(after.last_run.message, /mailed to ops@example\.com, quality@example\.com/);
    assert.equal(after.next_run, null, "inactive: no next run");
    // Inactive: no more mail.
    const count = smtp.mails.length;
    await new Promise((resolve) => setTimeout(resolve, 3500));
    assert.ok(smtp.mails.length <= count + 1, "a run already under way may finish, no new one starts");
    await call(sluice, "DELETE", `/report/${id}`);
  });

  test("a scheduled dashboard report prints the dashboard as the console shows it, mails it, and leaves its public link alone", async () => {
    const resources = resourcesOf(sluice);
    const { dashboard } = await resources.dashboards.create({ label: "Cold rooms board" });
    const { widget: card } = await resources.dashboards.widgets.create(dashboard, {
      label: "Room A now", type: "card", display: { unit: "°C", decimals: 2 }, data: [{ origin: deviceA, variables: ["humidity"] as never, qty: 1 as never }],
    });
    const { widget: note } = await resources.dashboards.widgets.create(dashboard, { label: "Shift notes", type: "note", display: { markdown: "Checked by **night shift**" }, data: [] });
    await resources.dashboards.edit(dashboard, { arrangement: [{ widget_id: card, x: 0, y: 0, width: 4, height: 3 }, { widget_id: note, x: 4, y: 0, width: 4, height: 3 }] as never });
    // The owner's own public link, given out before the report exists.
    const link = (await call(sluice, "GET", `/dashboard/${dashboard}/share/public`)).body.result as { token: string };
    const before = smtp.mails.length;
    const id = await create({ name: "Board daily", type: "dashboard", dashboard, title: "Cold rooms board", schedule: { cron: "*/3 * * * * *", timezone: "UTC" }, recipients: ["ops@example.com"] });
    const info = (await call(sluice, "GET", `/report/${id}`)).body.result;
    assert.equal(info.share_key, undefined, "no key is kept with the report");

    const mail = (await smtp.waitFor(before + 1, 30_000))[before]!;
    assert.equal((await call(sluice, "PUT", `/report/${id}`, { active: false })).status, 200);
    const pdfPart = mimeParts(mail.raw).find((p) => p.filename?.endsWith(".pdf"));
    assert.ok(pdfPart, "the PDF is attached");
    const facts = readPdf(pdfPart.content);
    assert.equal(facts.pages, 1);
    // What the widgets show: the card's last humidity of room A (60 + 29), the note's text.
    assert.match(facts.text, /Room A now/);
    assert.match(facts.text, /89\.00/);
    assert.match(facts.text, /Checked by night shift/);
    assert.match(facts.text, /Cold rooms board/);
    // The print used a key of its own, ended with it: the owner's link still opens the dashboard.
    const shared = await fetch(`${sluice.api}/share/${link.token}/dashboard`);
    assert.equal(shared.status, 200);
    assert.equal((await call(sluice, "GET", `/dashboard/${dashboard}`)).body.result.public_share.prefix, link.token.slice(0, 6));
    // A dashboard of another account is not found, as on its own routes.
    const other = await sluice.server.identity.createAccount("report-other");
    assert.equal((await call(sluice, "POST", "/report", { name: "x", type: "dashboard", dashboard }, other.token)).status, 404);
  });

  test("run on demand: the answer says what was made; CSV only; fixed dates", async () => {
    const id = await create({
      name: "Humidity export", format: "csv",
      query: { devices: [deviceA], variables: ["humidity"], start_date: new Date(Date.now() - 6 * HOUR).toISOString(), qty: 10 },
    });
    const run = await call(sluice, "POST", `/report/${id}/run`);
    assert.equal(run.status, 200, run.body.message);
    assert.equal(run.body.result.status, "ok", run.body.result.message);
    assert.deepEqual(run.body.result.mailed_to, []);
    const [file] = run.body.result.files as { url: string; name: string; content_type: string }[];
    assert.match(file!.name, /^humidity-export-\d{8}-\d{4}\.csv$/);
    assert.equal(file!.content_type, "text/csv; charset=utf-8");
    const csv = await (await fetch(`${sluice.api}${file!.url}`, { headers: { token: sluice.adminToken } })).text();
    const rows = csv.trim().split("\r\n").slice(1);
    // The newest 10 (qty), oldest first.
    assert.deepEqual(rows.map((r) => r.split(",")[4]), ["80", "81", "82", "83", "84", "85", "86", "87", "88", "89"]);
    await call(sluice, "DELETE", `/report/${id}`);
  });

  test("definitions are checked, naming the field", async () => {
    const other = await sluice.server.identity.createAccount("other");
    const { deviceId: foreign } = await sluice.device({ accountId: other.accountId });
    const query = { devices: [deviceA], variables: ["temperature"] };
    for (const [body, status, pattern] of [
      [{ query }, 400, /name is required/],
      [{ name: "x" }, 400, /query is required for a data report/],
      [{ name: "x", query: { devices: [deviceA] } }, 400, /query\.variables is required/],
      [{ name: "x", query: { ...query, range: "forever" } }, 400, /query\.range must be a duration/],
      [{ name: "x", query: { ...query, qty: 0 } }, 400, /query\.qty must be a whole number from 1 to 10000/],
      [{ name: "x", query: { devices: [foreign], variables: ["t"] } }, 400, /device .* is not a device of the account/],
      [{ name: "x", query, format: "docx" }, 400, /format must be "pdf", "csv" or both/],
      [{ name: "x", query, schedule: { cron: "not a cron" } }, 400, /schedule\.cron/],
      [{ name: "x", query, schedule: { cron: "* * * * * *" } }, 400, /runs more often than every 2 s \(reports\.minIntervalSeconds\)/],
      [{ name: "x", query, schedule: { cron: "0 8 * * *", timezone: "Mars/Olympus" } }, 400, /"Mars\/Olympus" is not a timezone/],
      [{ name: "x", query, recipients: ["not an address"] }, 400, /recipients: .*not an email address/],
      [{ name: "x", query, pdf_options: { format: "B9" } }, 400, /pdf_options\.format must be one of/],
      [{ name: "x", type: "dashboard", dashboard: "d1" }, 404, /Dashboard not found/],
      [{ name: "x", type: "dashboard", dashboard: "d1", format: ["pdf", "csv"] }, 400, /a dashboard report is a PDF only/],
    ] as const) {
      const answer = await call(sluice, "POST", "/report", body);
      assert.equal(answer.status, status, `${JSON.stringify(body)}: ${answer.body.message}`);
      assert.match(answer.body.message, pattern);
    }
    // Another account sees none of them.
    const id = await create({ name: "mine", query });
    assert.equal((await call(sluice, "GET", `/report/${id}`, undefined, other.token)).status, 404);
    assert.equal((await call(sluice, "POST", `/report/${id}/run`, undefined, other.token)).status, 404);
    assert.deepEqual((await call(sluice, "GET", "/report", undefined, other.token)).body.result, []);
    // Edits keep what they do not name.
    assert.equal((await call(sluice, "PUT", `/report/${id}`, { schedule: { cron: "0 8 * * 1", timezone: "America/Sao_Paulo" } })).status, 200);
    const edited = (await call(sluice, "GET", `/report/${id}`)).body.result;
    assert.deepEqual(edited.query.devices, [deviceA]);
    assert.deepEqual(edited.schedule, { cron: "0 8 * * 1", timezone: "America/Sao_Paulo" });
    assert.equal(edited.timezone, "UTC");
    assert.equal(new Date(edited.next_run).getUTCDay(), 1);
    const listed = (await call(sluice, "GET", "/report?filter[name]=mine")).body.result as { id: string }[];
    assert.deepEqual(listed.map((r) => r.id), [id]);
    assert.equal((await call(sluice, "DELETE", `/report/${id}`)).status, 200);
    assert.equal((await call(sluice, "GET", `/report/${id}`)).status, 404);
  });

  test("an account keeps at most reports.maxFilesPerAccount files: the oldest go; a deleted report's files go with it", async () => {
    const other = await sluice.server.identity.createAccount("files");
    const { deviceId } = await sluice.device({ accountId: other.accountId });
    await resourcesOf(sluice, other.token).devices.sendDeviceData(deviceId, [{ variable: "level", value: 1 }]);
    const id = await create({ name: "Level", format: "csv", query: { devices: [deviceId], variables: ["level"] } }, other.token);
    const made: string[] = [];
    for (let i = 0; i < 6; i++) {
      const run = await call(sluice, "POST", `/report/${id}/run`, undefined, other.token);
      assert.equal(run.body.result.status, "ok", run.body.result.message);
      made.push(run.body.result.files[0].id);
    }
    const kept = ((await call(sluice, "GET", `/report/${id}/file`, undefined, other.token)).body.result as { id: string }[]).map((f) => f.id);
    assert.deepEqual(kept, made.slice(2).reverse(), "the newest 4, newest first");
    assert.equal((await call(sluice, "GET", `/report/${id}/file/${made[0]}`, undefined, other.token)).status, 404);
    // Concurrent runs of one report are one run (a PDF takes long enough for the second to find the first).
    await call(sluice, "PUT", `/report/${id}`, { format: "pdf" }, other.token);
    const [a, b] = await Promise.all([call(sluice, "POST", `/report/${id}/run`, undefined, other.token), call(sluice, "POST", `/report/${id}/run`, undefined, other.token)]);
    assert.equal(a.body.result.files[0].id, b.body.result.files[0].id);
    await call(sluice, "DELETE", `/report/${id}`, undefined, other.token);
    assert.equal((await call(sluice, "GET", `/report/${id}/file/${made[5]}`, undefined, other.token)).status, 404);
    await waitFor(() => true);
  });
});
