import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import type { ActionJson, DataRecordJson } from "../../src/http/api_types.js";
import { launchBrowser, openConsole, screenshot, seriousA11yViolations, signIn, type ConsolePage } from "../helpers/browser.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { until } from "../helpers/until.js";

// A device's Data tab in a real browser against a real Sluice: an insert action made with the
// console's form, records published with mosquitto_pub, then the bucket in the table: filter by
// variable and time, edit, delete, export as CSV, import 5 000 rows; accessible, light, dark and
// on a phone.

const run = promisify(execFile);

let sluice: TestSluice;
let browser: Browser;
let device: { deviceId: string; token: string };
before(async () => {
  sluice = await startSluice();
  browser = await launchBrowser();
  device = await sluice.device();
});
after(async () => {
  await browser?.close();
  await sluice?.close();
});

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${sluice.api}${path}`, {
    method,
    headers: { token: sluice.adminToken, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const envelope = (await response.json()) as { status: boolean; result: T; message?: string };
  if (!envelope.status) throw new Error(envelope.message);
  return envelope.result;
}

/** mosquitto_pub, run asynchronously: the Sluice under test shares this process's event loop. */
async function publish(topic: string, payload: unknown): Promise<void> {
  await run("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(sluice.ports.mqtt), "-u", "Token", "-P", device.token, "-q", "1", "-t", topic, "-m", JSON.stringify(payload)], { timeout: 10_000 });
}

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

async function openData(c: ConsolePage, query = ""): Promise<Page> {
  const { page } = c;
  await page.goto(`${sluice.api}/#/devices/${device.deviceId}/data${query ? `?${query}` : ""}`);
  await page.locator(".data-query").waitFor();
  return page;
}

/** The table's rows as [variable, value] pairs. */
async function tableRows(page: Page): Promise<string[][]> {
  await page.locator(".data-result:not(.loading)").waitFor();
  return page.locator("table.data-table tbody tr").evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll("td")].slice(2, 4).map((td) => (td.textContent ?? "").trim())));
}

describe("a device's Data tab", () => {
  let c: ConsolePage;
  before(async () => {
    c = await openConsole(browser, sluice.api);
    c.page.setDefaultTimeout(10_000);
    await signIn(c.page, sluice);
  });
  after(() => c.context.close());

  test("an insert action made in the console's form stores what mosquitto_pub publishes; the Data tab shows it", async () => {
    const { page } = c;
    await page.goto(`${sluice.api}/#/actions/new`);
    await page.getByRole("textbox", { name: "Name", exact: true }).fill("store sensors");
    await page.getByRole("textbox", { name: "Topic filter" }).fill("sensors/#");
    await page.getByLabel("Device", { exact: true }).fill(device.deviceId);
    assert.equal(await page.getByRole("combobox", { name: "Action" }).inputValue(), "insert_bucket");
    await page.getByRole("button", { name: "Create action" }).click();
    await page.waitForURL(/#\/actions\/[0-9a-f]{24}$/);
    const actionId = /actions\/([0-9a-f]{24})$/.exec(page.url())![1]!;
    const action = await api<ActionJson>("GET", `/action/${actionId}`);
    assert.equal(action.type, "mqtt_topic");
    assert.deepEqual(action.trigger, [{ topic: "sensors/#", device: device.deviceId }]);
    assert.deepEqual(action.action, { type: "insert_bucket" });

    const records = [];
    for (let i = 0; i < 10; i++) records.push({ variable: "temperature", value: 20 + i, unit: "C", time: at(i) }, { variable: "humidity", value: 50 + i, unit: "%", time: at(i) });
    await publish("sensors/kitchen", records);
    await publish("sensors/kitchen", { variable: "status", value: "door, \"open\"", metadata: { floor: 1 }, location: { lat: 46.5, lng: 6.6 }, time: at(30) });
    await until(async () => ((await api<number>("GET", `/device/${device.deviceId}/data_amount`)) === 21 ? true : undefined));

    await openData(c);
    await page.getByText("21 records in the bucket").waitFor();
    const rows = await tableRows(page);
    assert.equal(rows.length, 21);
    // Newest first; records of one instant by insertion, newest first too.
    assert.deepEqual(rows.slice(0, 3), [["status", 'door, "open"'], ["humidity", "59"], ["temperature", "29"]]);
    assert.deepEqual(await seriousA11yViolations(page), []);
    await screenshot(page, "data-light");
  });

  test("filter by variable and time: the table and the count follow; the address keeps the filter", async () => {
    const page = await openData(c);
    await page.getByRole("textbox", { name: "Variables" }).fill("temperature");
    await page.getByLabel("From", { exact: true }).fill(at(2));
    await page.getByLabel("To", { exact: true }).fill(at(5));
    await page.getByRole("button", { name: "Apply" }).click();
    await page.getByText("4 records match the filter").waitFor();
    assert.deepEqual(await tableRows(page), [["temperature", "25"], ["temperature", "24"], ["temperature", "23"], ["temperature", "22"]]);
    assert.match(page.url(), /variables=temperature/);
    // Oldest first, two a page... via the address, as a shared link would.
    await openData(c, `variables=temperature&ordination=ascending&qty=25`);
    assert.deepEqual((await tableRows(page)).map((r) => r[1]), ["20", "21", "22", "23", "24", "25", "26", "27", "28", "29"]);
  });

  test("every query kind reaches the API: last value, count, average, aggregate; the API's own error when one is missing a date", async () => {
    const page = await openData(c, "kind=last_value&variables=temperature");
    assert.deepEqual(await tableRows(page), [["temperature", "29"]]);
    await openData(c, "kind=count&variables=humidity");
    await page.getByText("Count: 10").waitFor();
    await openData(c, "kind=avg&variables=temperature");
    await page.getByRole("alert").filter({ hasText: "query=avg needs start_date (HTTP 400)" }).waitFor();
    await openData(c, `kind=avg&variables=temperature&start=${encodeURIComponent(at(0))}`);
    await page.getByText("Average: 24.5").waitFor();
    await openData(c, `kind=aggregate&variables=humidity&interval=hour&aggregate=max`);
    await page.getByRole("columnheader", { name: "max" }).waitFor();
    const buckets = await page.locator("table.data-table tbody tr td").allTextContents();
    assert.deepEqual(buckets.slice(1), ["humidity", "59"]);
  });

  test("edit a record's value and unit; delete one, with a confirmation", async () => {
    const page = await openData(c, "variables=humidity");
    await page.getByRole("button", { name: `Edit humidity at ${at(9)}` }).click();
    const dialog = page.getByRole("dialog", { name: "Edit humidity" });
    await dialog.getByRole("textbox", { name: "Value", exact: true }).fill("99.5");
    await dialog.getByRole("textbox", { name: "Unit" }).fill("pct");
    await screenshot(page, "data-edit");
    await dialog.getByRole("button", { name: "Save" }).click();
    await page.getByRole("status").filter({ hasText: "1 item(s) updated" }).waitFor();
    const [edited] = await api<DataRecordJson[]>("GET", `/device/${device.deviceId}/data?variables=humidity&qty=1`);
    assert.equal(edited!.value, 99.5);
    assert.equal(edited!.unit, "pct");

    // A value the API refuses is shown as the API words it.
    await page.getByRole("button", { name: `Edit humidity at ${at(8)}` }).click();
    await dialog.getByRole("textbox", { name: "Unit" }).fill("u".repeat(30));
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.getByRole("alert").filter({ hasText: "record 0: unit must be at most 25 characters (HTTP 400)" }).waitFor();
    await dialog.getByRole("button", { name: "Cancel" }).click();

    await page.getByRole("checkbox", { name: `Select humidity at ${at(0)}` }).check();
    await page.getByRole("button", { name: "Delete selected" }).click();
    await page.getByRole("dialog", { name: "Delete 1 record?" }).getByRole("button", { name: "Delete" }).click();
    await page.getByRole("status").filter({ hasText: "1 Data Removed" }).waitFor();
    await page.getByText("9 records match the filter").waitFor();
    assert.equal(await api<number>("GET", `/device/${device.deviceId}/data_amount`), 20);
  });

  test("export the filtered records as CSV: the file the browser downloads holds them", async () => {
    const page = await openData(c, "variables=temperature,status&ordination=ascending");
    await page.getByRole("button", { name: "Export CSV", expanded: false }).click();
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("region", { name: "Export CSV" }).getByRole("button", { name: "Export CSV" }).click()]);
    const file = await download.path();
    const text = readFileSync(file, "utf8");
    const lines = text.split("\r\n").filter((l) => l !== "");
    assert.equal(lines[0], "variable,value,unit,time,group,location,metadata");
    assert.equal(lines.length, 1 + 10 + 1);
    // The broker adds the topic to the metadata of JSON records (sandbox/parser_input.ts).
    assert.match(lines[1]!, /^temperature,20,C,2024-05-01T12:00:00\.000Z,[0-9a-f]+,,"\{""topic"":""sensors\/kitchen""\}"$/);
    assert.match(lines[11]!, /^status,"door, ""open""",,2024-05-01T12:30:00\.000Z,[0-9a-f]+,"46\.5,6\.6","\{""floor"":1,""topic"":""sensors\/kitchen""\}"$/);
    await page.getByRole("status").filter({ hasText: "Exported 11 records." }).waitFor();
  });

  test("import a CSV of 5 000 rows with a progress bar; the count follows; a bad row's chunk is refused in the API's words", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-csv-"));
    const good = join(dir, "good.csv");
    let csv = "Variable,Value,Unit,Time,Metadata\r\n";
    for (let i = 0; i < 5000; i++) csv += `level,${i},cm,${new Date(T0 - (i + 1) * 1000).toISOString()},"{""n"":${i}}"\r\n`;
    writeFileSync(good, csv);
    const page = await openData(c);
    await page.getByRole("button", { name: "Import CSV" }).click();
    await page.getByLabel("CSV file").setInputFiles(good);
    await page.getByText("5,000 rows read from good.csv").waitFor();
    await page.getByRole("button", { name: "Import 5,000 rows" }).click();
    await page.getByRole("status").filter({ hasText: "5,000 of 5,000 rows imported." }).waitFor({ timeout: 30_000 });
    assert.equal(await page.getByRole("progressbar").getAttribute("value"), "5000");
    await screenshot(page, "data-import");
    await page.getByText("5,020 records in the bucket").waitFor();
    assert.equal(await api<number>("GET", `/device/${device.deviceId}/data?query=count&variables=level`), 5000);
    const [first] = await api<DataRecordJson[]>("GET", `/device/${device.deviceId}/data?variables=level&qty=1`);
    assert.deepEqual([first!.value, first!.unit, first!.metadata], [0, "cm", { n: 0 }]);

    // Pages follow time: the second page of 250 starts where the first ended; back returns.
    await openData(c, "variables=level&qty=250");
    assert.equal((await tableRows(page))[0]![1], "0");
    await page.getByRole("button", { name: "Older →" }).click();
    await page.getByText("Page 2").waitFor();
    const second = await tableRows(page);
    assert.deepEqual([second.length, second[0]![1], second[249]![1]], [250, "250", "499"]);
    await page.getByRole("button", { name: "← Newer" }).click();
    await page.getByText("Page 1").waitFor();
    assert.equal((await tableRows(page))[0]![1], "0");

    // The import panel stays open while the query changes.
    const bad = join(dir, "bad.csv");
    writeFileSync(bad, "variable,value\r\nok,1\r\nnot ok,2\r\n");
    await page.getByLabel("CSV file").setInputFiles(bad);
    await page.getByRole("button", { name: "Import 2 rows" }).click();
    const refused = page.getByRole("list", { name: "Refused chunks" });
    await refused.getByText("record 1: variable must not contain spaces (HTTP 400)").waitFor();
    await refused.getByText("that record is line 3 of the file").waitFor();
    await page.getByRole("status").filter({ hasText: "0 of 2 rows imported; 2 refused (below)." }).waitFor();
  });

  test("retention: shown, edited after a confirmation, applied at once as the API says", async () => {
    const page = await openData(c);
    await page.getByRole("button", { name: "Retention" }).click();
    await page.getByText("Keeps every record.").waitFor();
    await page.getByRole("textbox", { name: "Keep records (empty: no limit)" }).fill("5010");
    await page.getByRole("button", { name: "Save retention" }).click();
    await page.getByRole("dialog", { name: "Save the retention?" }).getByRole("button", { name: "Save and apply" }).click();
    await page.getByRole("status").filter({ hasText: "Retention updated, 10 record(s) removed" }).waitFor();
    await page.getByText("Keeps at most the newest 5,010 records.").waitFor();
    assert.deepEqual(await api("GET", `/device/${device.deviceId}/data_retention`), { days: null, records: 5010 });
  });

  test("dark theme and a 390 px phone: no serious accessibility violation, nothing wider than the screen", async () => {
    for (const [name, width, dark] of [["data-dark", 1280, true], ["data-phone", 390, false]] as const) {
      // Signed in at a desktop width (the helper waits for the side navigation), then resized.
      const phone = await openConsole(browser, sluice.api, { dark });
      await signIn(phone.page, sluice);
      await phone.page.setViewportSize({ width, height: 844 });
      const page = await openData(phone, "variables=temperature");
      await page.locator("table.data-table").waitFor();
      await screenshot(page, name);
      assert.deepEqual(await seriousA11yViolations(page), []);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.equal(overflow, 0, `no horizontal scrolling at ${width} px`);
      assert.deepEqual(phone.foreignRequests, []);
      assert.deepEqual(phone.pageErrors, []);
      await phone.context.close();
    }
    assert.deepEqual(c.pageErrors, []);
  });
});
