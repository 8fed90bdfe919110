/**
 * A real browser for the console's tests: Debian's `chromium` driven by playwright-core (no
 * browser download). Screenshots go to test-output/screenshots/; open them to look at what
 * the tests saw.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import type { TestSluice } from "./sluice.js";
import { createUser } from "./users.js";

export const CHROMIUM_PATH = process.env.SLUICE_CHROMIUM ?? "/usr/bin/chromium";
export const SCREENSHOT_DIR = join(process.cwd(), "test-output", "screenshots");

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // Chromium's sandbox needs user namespaces that root in a container does not get.
    args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
  });
}

export interface ConsolePage {
  context: BrowserContext;
  page: Page;
  /** Every request the page made to a host other than the console's own. */
  foreignRequests: string[];
  /** Console errors and uncaught exceptions of the page. */
  pageErrors: string[];
}

/** A fresh context (own cookies) on the console at `base`, watching for foreign requests and page errors. */
export async function openConsole(browser: Browser, base: string, options: { width?: number; height?: number; dark?: boolean } = {}): Promise<ConsolePage> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
    colorScheme: options.dark ? "dark" : "light",
    permissions: ["clipboard-read", "clipboard-write"],
  });
  const page = await context.newPage();
  const origin = new URL(base).origin;
  const foreignRequests: string[] = [];
  const pageErrors: string[] = [];
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith("data:") && !url.startsWith("blob:")) foreignRequests.push(url);
  });
  page.on("pageerror", (err) => pageErrors.push(err.message));
  page.on("console", (message) => {
    // The browser logs failed requests (a 401 before sign-in, a test's deliberate 4xx) as errors; those are the API's answers, not page bugs.
    if (message.type() === "error" && !/Failed to load resource/.test(message.text())) pageErrors.push(message.text());
  });
  await page.goto(base);
  return { context, page, foreignRequests, pageErrors };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * axe-core's serious and critical violations on the page as it is now. Evaluated through the
 * DevTools protocol, which the page's Content-Security-Policy does not govern.
 */
export async function seriousA11yViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    type Axe = { run(context: Document, options: object): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[] }> };
    const axe = (window as unknown as { axe: Axe }).axe;
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")) }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

let users = 0;

/**
 * Signs a new user of the admin account in through the console's own form (not a cookie
 * planted from outside), and waits for the devices page. Returns the user's credentials.
 */
export async function signIn(page: Page, sluice: TestSluice): Promise<{ email: string; password: string }> {
  const email = `user${++users}.${process.pid}@example.com`;
  const password = "correct horse battery";
  await createUser(sluice, { email, name: `User ${users}`, password });
  if (!page.url().includes("#/login")) await page.goto(`${sluice.api}/#/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
  return { email, password };
}
