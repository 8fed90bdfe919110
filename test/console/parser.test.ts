import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, openConsole, screenshot, seriousA11yViolations, signIn } from "../helpers/browser.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";

// The Payload parser tab in a real browser: write a parser, run it in the emulator (records and
// a console line), break it (the failing line is marked in the editor), save, reload (kept),
// then publish for real and see the parser's output in the Live Inspector.

const run = promisify(execFile);

const PARSER = [
  "const raw = payload.find((r) => r.variable === \"payload\");",
  "const bytes = Buffer.from(String(raw.value), \"hex\");",
  "payload = [{ variable: \"temperature\", value: bytes.readInt16BE(0) / 10, unit: \"C\" }];",
  "console.log(\"decoded\", bytes.length, \"bytes\");",
].join("\n");

/** Line 3 reads a property of undefined: a TypeError thrown on line 3. */
const BROKEN = [
  "const raw = payload.find((r) => r.variable === \"payload\");",
  "console.log(\"before the failure\");",
  "const oops = raw.missing.field;",
  "payload = [];",
].join("\n");

async function api<T>(sluice: TestSluice, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${sluice.api}${path}`, {
    method,
    headers: { token: sluice.adminToken, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const envelope = (await response.json()) as { status: boolean; result: T; message?: string };
  assert.ok(envelope.status, `${method} ${path}: ${envelope.message}`);
  return envelope.result;
}

/** Replaces the editor's text as a paste would (typing would trigger auto-closing brackets). */
async function setCode(page: Page, code: string): Promise<void> {
  await page.locator(".cm-content").click();
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.insertText(code);
}

const mod = process.platform === "darwin" ? "Meta" : "Control";

describe("the Payload parser tab", () => {
  let sluice: TestSluice;
  let browser: Browser;
  before(async () => {
    sluice = await startSluice();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await sluice?.close();
  });

  test("write, run, break, save, reload, and the parser runs on a real publish", async () => {
    const device = await api<{ device_id: string; token: string }>(sluice, "POST", "/device", { name: "Soil probe" });
    // The parser runs for messages an action takes: store what the device publishes under soil/.
    await api(sluice, "POST", "/action", {
      name: "store soil", type: "mqtt_topic", trigger: [{ device: device.device_id, topic: "soil/#" }], action: { type: "insert_bucket" },
    });
    const { page, context, pageErrors, foreignRequests } = await openConsole(browser, sluice.api);
    await signIn(page, sluice);
    await page.goto(`${sluice.api}/#/devices/${device.device_id}/parser`);
    await page.locator(".cm-content").waitFor();
    assert.match(await page.getByRole("status").filter({ hasText: /parser saved|Saved|Unsaved/ }).innerText(), /No parser saved/);

    await setCode(page, PARSER);
    await page.getByText("Unsaved changes").waitFor();
    await page.getByRole("textbox", { name: "Topic" }).fill("soil/up");
    await page.getByRole("textbox", { name: "Payload (as published)" }).fill("00d7");
    await page.getByRole("button", { name: "Run" }).click();
    const result = page.locator(".parser-result");
    await result.getByText(/Ran in .* ms · 1 output record/).waitFor();
    assert.match(await result.getByRole("table", { name: "Output records" }).innerText(), /temperature\s+21\.5\s+C/);
    assert.match(await result.getByRole("list", { name: "Console lines" }).innerText(), /log\s+decoded 2 bytes/);
    await screenshot(page, "parser-run");

    // The HTTP door: a POST /data body.
    await page.getByText("HTTP", { exact: true }).click();
    await page.getByRole("textbox", { name: "Body of POST /data (JSON)" }).fill('[{"variable":"payload","value":"0100"}]');
    await page.keyboard.press(`${mod}+Enter`);
    await result.getByText("25.6").waitFor();
    await page.getByText("MQTT", { exact: true }).click();

    // Broken: the failing line is named and marked in the editor.
    await setCode(page, BROKEN);
    await page.keyboard.press(`${mod}+Enter`); // from inside the editor: runs, inserts no line
    await result.getByText("Failed (exception) at line 3").waitFor();
    assert.match(await result.getByRole("alert").innerText(), /TypeError/);
    assert.match(await result.getByRole("list", { name: "Console lines" }).innerText(), /before the failure/);
    const marked = page.locator(".cm-line", { has: page.locator(".cm-lintRange-error") });
    await marked.waitFor();
    assert.equal(await marked.innerText(), "const oops = raw.missing.field;");
    assert.equal((await page.locator(".cm-content").innerText()).split("\n").length, 4, "Ctrl+Enter ran, and added no line");
    await screenshot(page, "parser-error");
    assert.deepEqual(await seriousA11yViolations(page), []);

    // Fixed again, saved with the keyboard, kept across a reload.
    await setCode(page, PARSER);
    await page.keyboard.press(`${mod}+s`);
    await page.getByText(/Saved at/).waitFor();
    assert.equal(await page.getByRole("button", { name: "Save" }).isDisabled(), true);
    await page.reload();
    await page.locator(".cm-content").waitFor();
    assert.equal(await page.locator(".cm-content").innerText(), PARSER);
    await page.getByText("Saved", { exact: true }).waitFor();

    // Live: the saved parser runs on a real message; its output and console line show in the inspector.
    await page.getByRole("link", { name: "Live Inspector" }).click();
    await page.getByRole("status").filter({ hasText: "Live" }).waitFor();
    await run("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(sluice.ports.mqtt), "-u", "Token", "-P", device.token, "-q", "1", "-t", "soil/up", "-m", "00e1"]);
    const output = page.locator(".insp-row", { hasText: "parser output" });
    await output.waitFor();
    await page.locator(".insp-row", { hasText: "decoded 2 bytes" }).waitFor();
    await output.click();
    assert.match(await page.locator("#insp-detail").getByRole("table", { name: "Output records" }).innerText(), /temperature\s+22\.5\s+C/);
    await screenshot(page, "parser-inspector-output");
    assert.deepEqual(foreignRequests, []);
    assert.deepEqual(pageErrors, []);
    await context.close();
  });

  test("dark theme and a 390 px phone: accessible, no sideways scrolling", async () => {
    const device = await api<{ device_id: string }>(sluice, "POST", "/device", { name: "Phone parser" });
    await api(sluice, "PUT", `/device/${device.device_id}`, { parse_function: PARSER });
    for (const [name, width, dark] of [["parser-dark", 1280, true], ["parser-phone", 390, false], ["parser-phone-dark", 390, true]] as const) {
      // Signed in at desktop width (the helper waits for the side navigation, folded on a phone), then narrowed.
      const { page, context, pageErrors } = await openConsole(browser, sluice.api, { height: 844, dark });
      await signIn(page, sluice);
      await page.setViewportSize({ width, height: 844 });
      await page.goto(`${sluice.api}/#/devices/${device.device_id}/parser`);
      await page.locator(".cm-content").waitFor();
      await page.getByRole("button", { name: "Run" }).click();
      await page.locator(".parser-result").getByText(/Ran in/).waitFor();
      await screenshot(page, name);
      assert.deepEqual(await seriousA11yViolations(page), []);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.equal(overflow, 0, `no horizontal scrolling at ${width} px`);
      assert.deepEqual(pageErrors, []);
      await context.close();
    }
  });
});
