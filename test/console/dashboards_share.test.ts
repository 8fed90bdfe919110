import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import type { DashboardExportJson, DashboardJson, WidgetJson } from "../../src/http/api_types.js";
import { pino } from "pino";
import { defaultConfig } from "../../src/config/schema.js";
import { shareViewUrl } from "../../src/dashboards/share_view.js";
import { OutboundGuard } from "../../src/outbound/guard.js";
import { PdfService } from "../../src/pdf/pdf_service.js";
import { readPdf } from "../helpers/pdf_tools.js";
import { launchBrowser, openConsole, screenshot, seriousA11yViolations, signIn } from "../helpers/browser.js";
import { adminApi } from "../helpers/admin_api.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// A dashboard's public link made in the console and opened signed out in a fresh browser
// context: the dashboard drawn through /share/<key>/... only, live, the page ready flag set;
// its own CSP (frame-ancestors from dashboards.shareFrameAncestors) while the console keeps
// 'none'; revoked, it says so. And export/import as a file from the list page.

describe("sharing and moving dashboards", () => {
  let sluice: TestSluice;
  let browser: Browser;
  before(async () => {
    sluice = await startSluice({ dashboards: { ...defaultConfig.dashboards, shareFrameAncestors: ["https://intranet.example.com", "'self'"] } });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await sluice?.close();
  });

  const api = adminApi(() => sluice);
  const sendData = async (token: string, value: number) => {
    const response = await fetch(`${sluice.api}/data`, { method: "POST", headers: { token, "content-type": "application/json" }, body: JSON.stringify([{ variable: "level", value }]) });
    assert.equal(response.status, 200);
  };

  test("the share view has its own CSP; the console keeps frame-ancestors 'none'", async () => {
    const share = await fetch(`${sluice.api}/view`);
    assert.equal(share.status, 200);
    const shareCsp = share.headers.get("content-security-policy") ?? "";
    assert.match(shareCsp, /frame-ancestors https:\/\/intranet\.example\.com 'self'(;|$)/);
    assert.match(shareCsp, /script-src 'self'(;|$)/);
    assert.match(shareCsp, /img-src 'self' data: blob: https:(;|$)/);
    assert.equal(share.headers.get("referrer-policy"), "no-referrer");
    assert.match(await share.text(), /<script type="module"[^>]* src="\/assets\//);
    const consolePage = await fetch(`${sluice.api}/`);
    assert.match(consolePage.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
  });

  test("make a public link, open it signed out: the dashboard, live, read only; revoke it", async () => {
    const device = await sluice.device();
    await sendData(device.token, 41);
    const { dashboard: id } = await api<{ dashboard: string }>("POST", "/dashboard", { label: "Tank farm", tabs: [{ key: "main", value: "Main" }, { key: "more", value: "More" }] });
    const { widget: card } = await api<{ widget: string }>("POST", `/dashboard/${id}/widget`, { label: "Tank level", type: "card", display: {}, data: [{ origin: device.deviceId, variables: ["level"] }] });
    const { widget: note } = await api<{ widget: string }>("POST", `/dashboard/${id}/widget`, { label: "About", type: "note", display: { markdown: "Levels in **percent**." } });
    await api("PUT", `/dashboard/${id}`, { arrangement: [{ widget_id: card, x: 0, y: 0, width: 4, height: 3, tab: "main" }, { widget_id: note, x: 4, y: 0, width: 4, height: 3, tab: "main" }] });

    const owner = await openConsole(browser, sluice.api);
    await signIn(owner.page, sluice);
    await owner.page.goto(`${sluice.api}/#/dashboards/${id}`);
    await owner.page.getByRole("button", { name: "Share" }).click();
    await owner.page.getByText("No public link.").waitFor();
    await owner.page.getByRole("button", { name: "Make a public link" }).click();
    const link = owner.page.locator(".share-url");
    await link.waitFor();
    const url = (await link.textContent())!;
    assert.match(url, new RegExp(`^${sluice.api}/view#[A-Za-z0-9_-]{43}$`));
    assert.match(await owner.page.getByLabel("To embed it").inputValue(), /<iframe src="[^"]+\/view#/);
    await screenshot(owner.page, "dashboard-share-panel");
    assert.deepEqual(await seriousA11yViolations(owner.page), []);

    // A fresh context: no session cookie.
    const viewer = await openConsole(browser, `${sluice.api}/view`, { dark: true });
    const requests: string[] = [];
    viewer.page.on("request", (r) => requests.push(new URL(r.url()).pathname));
    await viewer.page.goto(url);
    await viewer.page.getByRole("heading", { level: 1, name: "Tank farm" }).waitFor();
    const tankLevel = viewer.page.getByRole("region", { name: "Tank level" });
    await tankLevel.getByText("41").waitFor();
    await viewer.page.getByRole("region", { name: "About" }).getByText("percent").waitFor();
    await viewer.page.waitForFunction(() => document.documentElement.dataset.ready === "1");
    assert.deepEqual(requests.filter((p) => !p.startsWith("/share/") && !p.startsWith("/assets/") && p !== "/view"), [], "only the link's own routes");
    await sendData(device.token, 57);
    await tankLevel.getByText("57").waitFor();
    await screenshot(viewer.page, "dashboard-share-view-dark");
    assert.deepEqual(await seriousA11yViolations(viewer.page), []);
    assert.deepEqual(viewer.foreignRequests, []);
    assert.deepEqual(viewer.pageErrors, []);

    // Revoked: the viewer is told, in words.
    await owner.page.getByRole("button", { name: "Revoke link" }).click();
    await owner.page.getByRole("dialog").getByRole("button", { name: "Revoke" }).click();
    await owner.page.getByText("No public link.").waitFor();
    await viewer.page.reload();
    await viewer.page.getByText("This public link is unknown, revoked or expired.").waitFor();
    await viewer.context.close();
    await owner.context.close();
  });

  test("export a dashboard as a file and import it back", async () => {
    const { dashboard: id } = await api<{ dashboard: string }>("POST", "/dashboard", { label: "Template", tags: [{ key: "site", value: "north" }] });
    const { widget: w } = await api<{ widget: string }>("POST", `/dashboard/${id}/widget`, { label: "Readme", type: "note", display: { markdown: "hello" } });
    await api("PUT", `/dashboard/${id}`, { arrangement: [{ widget_id: w, x: 1, y: 2, width: 5, height: 3 }] });

    const { page, context, pageErrors } = await openConsole(browser, sluice.api);
    await signIn(page, sluice);
    await page.goto(`${sluice.api}/#/dashboards`);
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export Template" }).click()]);
    assert.match(download.suggestedFilename(), /^Template\.sluice-dashboard\.json$/);
    const path = await download.path();
    const file = JSON.parse(readFileSync(path, "utf8")) as DashboardExportJson;
    assert.equal(file.format, "sluice-dashboard");
    assert.equal(file.dashboard.label, "Template");
    assert.equal(file.widgets.length, 1);

    await page.locator('input[type="file"]').setInputFiles(path);
    await page.waitForURL((u) => /#\/dashboards\/[0-9a-f]{24}$/.test(u.hash) && !u.hash.endsWith(id));
    const copyId = page.url().split("/").pop()!;
    await page.getByRole("region", { name: "Readme" }).getByText("hello").waitFor();
    const copy = await api<DashboardJson>("GET", `/dashboard/${copyId}`);
    const copyWidgets = await api<WidgetJson[]>("GET", `/dashboard/${copyId}/widget`);
    assert.equal(copy.label, "Template");
    assert.deepEqual(copy.tags, [{ key: "site", value: "north" }]);
    assert.deepEqual(copyWidgets.map((x) => [x.label, x.type, x.display]), [["Readme", "note", { markdown: "hello" }]]);
    assert.deepEqual(copy.arrangement.map(({ x, y, width, height }) => ({ x, y, width, height })), [{ x: 1, y: 2, width: 5, height: 3 }]);

    // A file that is not JSON is refused with words, nothing made.
    await page.goto(`${sluice.api}/#/dashboards`);
    await page.locator('input[type="file"]').setInputFiles({ name: "notes.json", mimeType: "application/json", buffer: Buffer.from("not json") });
    await page.getByText("notes.json is not JSON").waitFor();
    assert.equal((await api<DashboardJson[]>("GET", "/dashboard")).filter((d) => d.label === "Template").length, 2);
    await screenshot(page, "dashboards-list-import-error");
    assert.deepEqual(pageErrors, []);
    await context.close();
  });

  test("a dashboard report's mechanism: the share view printed once its widgets have drawn", async () => {
    const device = await sluice.device();
    await sendData(device.token, 8128);
    const { dashboard: id } = await api<{ dashboard: string }>("POST", "/dashboard", { label: "Printed board" });
    const { widget: card } = await api<{ widget: string }>("POST", `/dashboard/${id}/widget`, { label: "Depth", type: "card", display: { unit: "mm" }, data: [{ origin: device.deviceId, variables: ["level"] }] });
    const { widget: note } = await api<{ widget: string }>("POST", `/dashboard/${id}/widget`, { label: "Legend", type: "note", display: { markdown: "Measured at the *north* gauge." } });
    await api("PUT", `/dashboard/${id}`, { arrangement: [{ widget_id: card, x: 0, y: 0, width: 4, height: 3 }, { widget_id: note, x: 4, y: 0, width: 6, height: 3 }] });
    const { token } = await api<{ token: string }>("GET", `/dashboard/${id}/share/public`);
    const pdf = new PdfService({ config: { ...defaultConfig.pdf, timeoutMs: 30_000 }, guard: new OutboundGuard({ allowPrivateTargets: true }), logger: pino({ level: "silent" }) });
    try {
      const result = await pdf.render("acc", { source: { kind: "site", url: shareViewUrl(sluice.api, token), origin: sluice.api }, options: { format: "A4", landscape: true } });
      const facts = readPdf(result.pdf);
      assert.match(facts.text, /Printed board/);
      assert.match(facts.text, /8,?128 mm/, "the card's value, loaded through the link, was drawn before printing");
      assert.match(facts.text, /north/);
      assert.doesNotMatch(facts.text, /Time range/, "the viewer's controls are not printed");
    } finally {
      await pdf.close();
    }
  });
});
