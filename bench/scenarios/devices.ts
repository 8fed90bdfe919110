// The devices list at 100 000 devices (Sluice only): how long `GET /device` takes for the pages
// the console asks (first page in each order, a deep page, a search, a tag filter), and how long
// the console's devices page takes in Chromium from navigation to its first rows. The devices go
// straight into SQLite (one prepared INSERT in one transaction): through the API they would take
// minutes and measure device creation instead.
import Database from "better-sqlite3";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { chromium, type Browser, type BrowserContext } from "playwright-core";
import { generateId } from "../../src/identity/tokens.js";
import { nameSortKey } from "../../src/store/name_key.js";
import type { DevicesResult } from "../results.js";
import { SluiceApi } from "../sluice_api.js";
import type { Scenario } from "./context.js";

const QUERY_ROUNDS = 20;
const RENDER_ROUNDS = 5;
const FIELDS = "fields=id,name,tags,active,connected,last_input,created_at";
const CHROMIUM = process.env["SLUICE_CHROMIUM"] ?? "/usr/bin/chromium";

/** What the console asks for its pages (pages/devices.tsx), plus a deep page. */
const QUERIES: { name: string; query: string }[] = [
  { name: "first page, by name", query: `amount=50&page=1&orderBy=name,asc&${FIELDS}` },
  { name: "first page, newest input", query: `amount=50&page=1&orderBy=last_input,desc&${FIELDS}` },
  { name: "first page, newest created", query: `amount=50&page=1&orderBy=created_at,desc&${FIELDS}` },
  { name: "page 1000 of 2000, by name", query: `amount=50&page=1000&orderBy=name,asc&${FIELDS}` },
  { name: "search *7777* (few matches)", query: `amount=50&page=1&orderBy=name,asc&filter[name]=*7777*&${FIELDS}` },
  { name: "tag site=s3, by name", query: `amount=50&page=1&orderBy=name,asc&filter[tags][0][key]=site&filter[tags][0][value]=s3&${FIELDS}` },
];

const percentile = (xs: number[], p: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? 0;
};

/** 100 000 devices of the admin account, as the API would store them; returns the insert time. */
function insertDevices(dataDir: string, count: number): number {
  const db = new Database(join(dataDir, "sluice.db"));
  db.pragma("busy_timeout = 10000");
  try {
    const account = (db.prepare("SELECT id FROM accounts WHERE admin = 1").get() as { id: string } | undefined)?.id;
    if (!account) throw new Error("no admin account in the database");
    const insert = db.prepare(
      "INSERT INTO devices (id, account_id, name, name_key, name_lower, active, tags, extra, created_at, updated_at, last_input) VALUES (?, ?, ?, ?, ?, 1, ?, '{}', ?, ?, ?)",
    );
    const started = performance.now();
    const base = Date.now() - count * 1000;
    db.transaction(() => {
      for (let i = 0; i < count; i++) {
        const name = `sensor ${i}`;
        const tags = JSON.stringify([{ key: "site", value: `s${i % 10}` }, { key: "kind", value: i % 2 ? "temp" : "flow" }]);
        // Two thirds have sent something, at times spread over the last day.
        insert.run(generateId(), account, name, nameSortKey(name), name.toLowerCase(), tags, base + i * 1000, base + i * 1000, i % 3 ? base + ((i * 7919) % 86_400) * 1000 : null);
      }
    }).immediate();
    return performance.now() - started;
  } finally {
    db.close();
  }
}

/** A browser context signed in to the console as a user made for the bench (its session cookie). */
async function signedInContext(browser: Browser, base: string, api: SluiceApi): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const email = "bench@example.com";
  const password = "bench-password-1";
  await api.request("POST", "/account/user", { email, name: "Bench", password });
  const login = await context.request.post(`${base}/account/login`, { data: { email, password }, headers: { "x-sluice-csrf": "1" } });
  if (!login.ok()) throw new Error(`POST /account/login: HTTP ${login.status()}`);
  return context;
}

export const devicesScenario: Scenario<DevicesResult> = {
  name: "devices",
  title: "devices list at 100 000 devices: GET /device pages, and the console's first render in Chromium",
  only: { kinds: ["sluice"], reason: "the devices list is Sluice's API and console" },
  initial: (config) => ({ kind: "devices", devices: config.listDevices, queries: [], firstRenderMs: [] }),
  async run(target, ctx, result) {
    if (!target.api?.dataDir) throw new Error("the Sluice target has no API or data dir");
    const { port, adminToken, dataDir } = target.api;
    const base = `http://${target.host}:${port}`;
    const api = new SluiceApi(target.host, port, adminToken);

    result.insertMs = insertDevices(dataDir, result.devices);
    ctx.log(`${result.devices.toLocaleString("en-US")} devices inserted in ${Math.round(result.insertMs)} ms`);

    for (const { name, query } of QUERIES) {
      const times: number[] = [];
      let rows = 0;
      for (let round = 0; round < QUERY_ROUNDS; round++) {
        const started = performance.now();
        rows = (await api.request<unknown[]>("GET", `/device?${query}`)).length;
        times.push(performance.now() - started);
      }
      result.queries.push({ name, rows, p50Ms: percentile(times, 0.5), p95Ms: percentile(times, 0.95), maxMs: Math.max(...times) });
      ctx.log(`GET /device ${name}: ${rows} rows, p50 ${percentile(times, 0.5).toFixed(1)} ms, p95 ${percentile(times, 0.95).toFixed(1)} ms`);
    }

    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: process.getuid?.() === 0 ? ["--no-sandbox"] : [] });
    try {
      const context = await signedInContext(browser, base, api);
      for (let round = 0; round < RENDER_ROUNDS; round++) {
        const page = await context.newPage();
        await page.goto(`${base}/#/devices`);
        // From the navigation's start (the page's time origin) to 50 rows in the document,
        // checked every frame in the page: the document, the scripts, the session check and
        // the first page of the API.
        const handle = await page.waitForFunction(() => (document.querySelectorAll("table.devices-table tbody tr").length >= 50 ? performance.now() : false), undefined, { polling: "raf", timeout: 15_000 });
        const ms = (await handle.jsonValue()) as number;
        result.firstRenderMs.push(ms);
        ctx.log(`console devices page, round ${round + 1}: first 50 rows after ${Math.round(ms)} ms`);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  },
};
