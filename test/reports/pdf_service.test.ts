import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { defaultConfig } from "../../src/config/schema.js";
import { OutboundGuard } from "../../src/outbound/guard.js";
import { PdfService } from "../../src/pdf/pdf_service.js";
import { call, consoleLine, createAnalysis, resourcesOf } from "../helpers/analysis.js";
import { mimeParts, readPdf } from "../helpers/pdf_tools.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp_sink.js";

// The PDF service (`Services.PDF.generate`) rendered by the system's Chromium, the email
// service's attachments, and the bounds: what a page may reach, how long it may take, what it
// may produce, and PDF features off without Chromium.

/** A local HTTP server counting every request it gets: a page must make none. */
interface HitServer {
  url: string;
  hits: string[];
  close(): Promise<void>;
}

async function startHitServer(page = "<html><head><title>Remote page</title></head><body><h1>Remote 4242</h1><img src='/pixel.png'></body></html>"): Promise<HitServer> {
  const hits: string[] = [];
  const server: Server = createServer((request, response) => {
    hits.push(request.url ?? "");
    if (request.url === "/page") response.writeHead(200, { "content-type": "text/html" }).end(page);
    else if (request.url === "/redirect") response.writeHead(302, { location: "/page" }).end();
    else response.writeHead(200, { "content-type": "text/plain" }).end("hit");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** POST /analysis/services/pdf/generate as the SDK does it; the decoded PDF on success. */
async function generate(sluice: TestSluice, body: unknown): Promise<{ status: number; pdf?: Buffer; message?: string; body: { status: boolean; result: unknown; message: string } }> {
  const { status, body: answer } = await call(sluice, "POST", "/analysis/services/pdf/generate", body);
  return { status, body: answer, ...(status === 200 ? { pdf: Buffer.from(answer.result as string, "base64") } : { message: answer.message }) };
}

const credentials = { user: "sluice", password: "p4ss" };
let smtp: SmtpSink;
let hits: HitServer;
before(async () => {
  smtp = await startSmtpSink(credentials);
  hits = await startHitServer();
});
after(async () => {
  await smtp.close();
  await hits.close();
});

function smtpConfig() {
  return { ...defaultConfig.smtp, host: "127.0.0.1", port: smtp.port, requireTLS: false, user: credentials.user, password: credentials.password, from: "Sluice <reports@sluice.test>" };
}

describe("PDF service, outbound.allowPrivateTargets: false", () => {
  let sluice: TestSluice;
  before(async () => {
    sluice = await startSluice({
      smtp: smtpConfig(),
      outbound: { allowPrivateTargets: false },
      pdf: { ...defaultConfig.pdf, timeoutMs: 4000, maxPages: 5 },
      analysis: { ...defaultConfig.analysis, timeoutMs: 30_000 },
    });
  });
  after(() => sluice.close());

  test("an unchanged TagoIO analysis builds HTML, makes a PDF with Services.PDF.generate and mails it as an attachment", async () => {
    const resources = resourcesOf(sluice);
    const dev = await sluice.device();
    const temperatures = [3.5, 4.25, 2.75, 5.5, 4.0];
    const start = Date.now() - 60 * 60_000;
    await resources.devices.sendDeviceData(dev.deviceId, temperatures.map((value, i) => ({ variable: "temperature", value, unit: "°C", time: new Date(start + i * 60_000).toISOString() })));
    // What a TagoIO report analysis looks like: nothing in it knows about Sluice.
    const code = `
      const { Analysis, Resources, Services } = require("@tago-io/sdk");
      async function report(context) {
        const env = Object.fromEntries(context.environment.map((e) => [e.key, e.value]));
        const resources = new Resources({ token: context.token });
        const data = await resources.devices.getDeviceData(env.device_id, { variables: ["temperature"], qty: 100 });
        const values = data.map((d) => d.value);
        const average = values.reduce((a, b) => a + b, 0) / values.length;
        const rows = data.map((d) => "<tr><td>" + new Date(d.time).toISOString() + "</td><td>" + d.value + "</td></tr>").join("");
        const html = "<!doctype html><html><head><title>Cold room report</title><style>body{font-family:sans-serif} h1{color:#1d4ed8}</style></head><body>" +
          "<h1>Cold room report</h1><p>Average temperature: " + average.toFixed(2) + " C</p><p>Highest: " + Math.max(...values) + " C</p>" +
          "<table>" + rows + "</table>" +
          "<div style='page-break-before: always'><h2>Second page</h2><p>Records: " + data.length + "</p></div></body></html>";
        const services = new Services({ token: context.token });
        const pdf = await services.PDF.generate({
          html, fileName: "report.pdf",
          options: {
            format: "A4", printBackground: true, displayHeaderFooter: true, headerTemplate: "<span></span>",
            footerTemplate: "<div style='font-size:9px;width:100%;text-align:center'>Page <span class='pageNumber'></span> of <span class='totalPages'></span></div>",
            margin: { top: "1cm", bottom: "1.5cm", left: "1cm", right: "1cm" },
          },
        });
        context.log("pdf", pdf.status, Buffer.from(pdf.result, "base64").subarray(0, 5).toString());
        const sent = await services.email.send({
          to: env.to, subject: "Cold room report", message: "The report is attached.",
          attachment: { archive: pdf.result, type: "base64", filename: "report.pdf" },
        });
        context.log("mailed", sent);
      }
      Analysis.use(report);`;
    const { id } = await createAnalysis(resources, code, { variables: [{ key: "device_id", value: dev.deviceId }, { key: "to", value: "manager@example.com" }] });
    const before = smtp.mails.length;
    await resources.analysis.run(id);
    const lines = await consoleLine(sluice, id, /^mailed|ended|stopped/, 30_000);
    assert.ok(lines.some((l) => l.message === "pdf true %PDF-"), JSON.stringify(lines));
    assert.ok(lines.some((l) => l.message === "mailed Email sent"), JSON.stringify(lines));

    const mail = (await smtp.waitFor(before + 1))[before]!;
    assert.deepEqual(mail.to, ["manager@example.com"]);
    assert.equal(mail.headers.subject, "Cold room report");
    const parts = mimeParts(mail.raw);
    assert.match(parts.find((p) => p.filename === undefined)!.content.toString(), /The report is attached\./);
    const attachment = parts.find((p) => p.filename === "report.pdf");
    assert.ok(attachment, `parts: ${parts.map((p) => `${p.contentType} ${p.filename}`).join(", ")}`);
    assert.equal(attachment.contentType, "application/pdf");

    const facts = readPdf(attachment.content);
    assert.equal(facts.pages, 2);
    assert.equal(facts.title, "Cold room report");
    assert.match(facts.text, /Cold room report/);
    assert.match(facts.text, /Average temperature: 4\.00 C/);
    assert.match(facts.text, /Highest: 5\.5 C/);
    assert.match(facts.text, /Records: 5/);
    assert.match(facts.text, /Page 1 of 2/);
    assert.match(facts.text, /Page 2 of 2/);
    assert.equal(facts.pngs.length, 2);
    assert.ok(facts.pngs.every((png) => png.subarray(1, 4).toString() === "PNG" && png.length > 1000));
  });

  test("the answer has the SDK's shape: { status: true, result: base64 PDF }; options are checked", async () => {
    const ok = await generate(sluice, { base64: Buffer.from("<title>From base64</title><p>Hello 31337</p>").toString("base64"), options: { landscape: true, format: "a5", scale: 1.5, pageRanges: "1" } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.status, true);
    const facts = readPdf(ok.pdf!);
    assert.equal(facts.title, "From base64");
    assert.match(facts.text, /Hello 31337/);

    for (const [body, pattern] of [
      [{}, /one of html, base64 or url is required/],
      [{ html: "<p>x</p>", url: "http://example.com" }, /give one of html, base64 or url, not html and url/],
      [{ html: "<p>x</p>", options: { format: "B7" } }, /options\.format must be one of/],
      [{ html: "<p>x</p>", options: { scale: 5 } }, /options\.scale must be a number from 0\.1 to 2/],
      [{ html: "<p>x</p>", options: { margin: { top: "1 parsec" } } }, /options\.margin\.top must be/],
      [{ html: "<p>x</p>", options: { width: "9000in" } }, /options\.width is larger than 100 inches/],
      [{ html: "<p>x</p>", options: { pageRanges: "1-2; rm -rf" } }, /options\.pageRanges/],
      [{ url: "file:///etc/passwd" }, /url must be http or https/],
      [{ html: "x".repeat(defaultConfig.pdf.maxInputBytes + 1) }, /more than \d+ bytes of HTML/],
    ] as const) {
      const answer = await generate(sluice, body);
      assert.equal(answer.status, 400, JSON.stringify(body).slice(0, 80));
      assert.match(answer.message!, pattern);
    }
  });

  test("a url to a private address is refused, and nothing is fetched", async () => {
    for (const url of [`${hits.url}/page`, "http://localhost:9/", "http://[::1]/", "http://169.254.169.254/latest/meta-data/", `${sluice.api}/status`]) {
      const answer = await generate(sluice, { url });
      assert.equal(answer.status, 400, url);
      assert.match(answer.message!, /refused by outbound\.allowPrivateTargets/, url);
    }
    assert.deepEqual(hits.hits, []);
  });

  test("an html job's page reaches nothing: fetch, images, frames, WebSockets, beacons, file: URLs make no request", async () => {
    const base = hits.url;
    const html = `<!doctype html><html><head><title>Quiet page</title>
      <link rel="stylesheet" href="${base}/style.css"><link rel="prefetch" href="${base}/prefetch"><script src="${base}/script.js"></script></head><body>
      <h1>Nothing leaves 777</h1>
      <img src="${base}/img.png"><img src="http://localhost:${new URL(base).port}/img2.png"><iframe src="${base}/frame"></iframe>
      <iframe src="file:///etc/hostname"></iframe><object data="file:///etc/passwd"></object><video src="${base}/video.mp4"></video>
      <p id="out">waiting</p>
      <script>
        const out = document.getElementById("out");
        const tries = [
          fetch("${base}/fetch").then(() => "fetch ok", () => "fetch blocked"),
          fetch("file:///etc/hostname").then(() => "file ok", () => "file blocked"),
          new Promise((resolve) => { const x = new XMLHttpRequest(); x.open("GET", "${base}/xhr"); x.onload = () => resolve("xhr ok"); x.onerror = () => resolve("xhr blocked"); x.send(); }),
          new Promise((resolve) => { try { const ws = new WebSocket("${base.replace("http", "ws")}/ws"); ws.onopen = () => resolve("ws ok"); ws.onerror = ws.onclose = () => resolve("ws blocked"); } catch (e) { resolve("ws blocked"); } }),
          new Promise((resolve) => { try { navigator.sendBeacon("${base}/beacon", "x"); } catch (e) {} resolve("beacon sent"); }),
          new Promise((resolve) => { try { new Worker(URL.createObjectURL(new Blob(["fetch('${base}/worker').catch(()=>{});"]))); } catch (e) {} setTimeout(() => resolve("worker started"), 200); }),
        ];
        Promise.all(tries).then((r) => { out.textContent = r.join(", "); });
        location.href = "${base}/navigate";
      </script></body></html>`;
    const answer = await generate(sluice, {
      html,
      options: { displayHeaderFooter: true, headerTemplate: `<img src="${base}/header.png">`, footerTemplate: `<img src="${base}/footer.png"><span class="pageNumber"></span>` },
    });
    assert.equal(answer.status, 200, answer.message);
    const facts = readPdf(answer.pdf!);
    assert.match(facts.text, /Nothing leaves 777/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(hits.hits, [], "the page made requests");
  });

  test("a looping script hits the time bound; the server keeps serving, and the next job renders", async () => {
    const started = Date.now();
    const looping = generate(sluice, { html: "<title>Loop</title><script>for (;;) {}</script>" });
    // While the page spins in Chromium, Sluice answers.
    for (let i = 0; i < 5; i++) {
      const status = await fetch(`${sluice.api}/status`);
      assert.equal(status.status, 200);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const answer = await looping;
    assert.equal(answer.status, 422);
    assert.match(answer.message!, /took longer than 4000 ms to load and print \(pdf\.timeoutMs\)/);
    assert.ok(Date.now() - started < 12_000, `${Date.now() - started} ms`);
    const next = await generate(sluice, { html: "<title>After</title><p>Still here 2718</p>" });
    assert.equal(next.status, 200, next.message);
    assert.match(readPdf(next.pdf!).text, /Still here 2718/);
  });

  test("more pages than pdf.maxPages is refused (413)", async () => {
    const html = Array.from({ length: 12 }, (_, i) => `<div style="page-break-after: always">page ${i + 1}</div>`).join("");
    const answer = await generate(sluice, { html });
    assert.equal(answer.status, 413);
    assert.match(answer.message!, /more than 5 pages \(pdf\.maxPages\)/);
    // Within the bound by the job's own page ranges.
    const some = await generate(sluice, { html, options: { pageRanges: "2-4" } });
    assert.equal(some.status, 200, some.message);
    assert.equal(readPdf(some.pdf!).pages, 3);
  });

  test("email attachments are bounded in count and bytes", async () => {
    const mail = { to: "a@example.com", subject: "files", message: "see attached" };
    const many = Array.from({ length: defaultConfig.smtp.maxAttachments + 1 }, (_, i) => ({ archive: "x", filename: `f${i}.txt` }));
    let answer = await call(sluice, "POST", "/analysis/services/email/send", { ...mail, attachments: many });
    assert.equal(answer.status, 400);
    assert.match(answer.body.message, /more than 10 attachments \(smtp\.maxAttachments\)/);
    const big = Buffer.alloc(defaultConfig.smtp.maxAttachmentBytes + 10).toString("base64");
    answer = await call(sluice, "POST", "/analysis/services/email/send", { ...mail, attachment: { archive: big, type: "base64", filename: "big.bin" } });
    assert.equal(answer.status, 400);
    assert.match(answer.body.message, /more than 10485760 bytes \(smtp\.maxAttachmentBytes\)/);
    answer = await call(sluice, "POST", "/analysis/services/email/send", { ...mail, attachment: { archive: "x", filename: "../../etc/passwd" } });
    assert.equal(answer.status, 400);
    assert.match(answer.body.message, /attachment\.filename must be a file name/);
    // Text attachments (no type) are sent as they are.
    const before = smtp.mails.length;
    answer = await call(sluice, "POST", "/analysis/services/email/send", { ...mail, attachment: { archive: "a,b\n1,2\n", filename: "data.csv" } });
    assert.equal(answer.status, 200, answer.body.message);
    const parts = mimeParts((await smtp.waitFor(before + 1))[before]!.raw);
    assert.equal(parts.find((p) => p.filename === "data.csv")?.content.toString(), "a,b\n1,2\n");
  });

  test("Services.attachment.upload keeps the file for download", async () => {
    const content = Buffer.from("%PDF-1.4 not really");
    const answer = await call(sluice, "POST", "/analysis/services/attachment/upload", { archive: content.toString("base64"), filename: "upload.pdf", type: "application/pdf" });
    assert.equal(answer.status, 200, answer.body.message);
    assert.match(answer.body.result as string, /^\/analysis\/services\/attachment\/[\w-]+$/);
    const download = await fetch(`${sluice.api}${answer.body.result as string}`, { headers: { token: sluice.adminToken } });
    assert.equal(download.status, 200);
    assert.equal(download.headers.get("content-type"), "application/pdf");
    assert.match(download.headers.get("content-disposition") ?? "", /^attachment; filename="upload\.pdf"/);
    assert.deepEqual(Buffer.from(await download.arrayBuffer()), content);
    const other = await sluice.server.identity.createAccount("other");
    const refused = await fetch(`${sluice.api}${answer.body.result as string}`, { headers: { token: other.token } });
    assert.equal(refused.status, 404);
  });
});

describe("PDF service, outbound.allowPrivateTargets: true", () => {
  let sluice: TestSluice;
  before(async () => {
    sluice = await startSluice({ pdf: { ...defaultConfig.pdf, timeoutMs: 10_000 } });
  });
  after(() => sluice.close());

  test("a url job fetches that url (redirects followed) and nothing else the page asks for", async () => {
    hits.hits.length = 0;
    const answer = await generate(sluice, { url: `${hits.url}/redirect` });
    assert.equal(answer.status, 200, answer.message);
    const facts = readPdf(answer.pdf!);
    assert.equal(facts.title, "Remote page");
    assert.match(facts.text, /Remote 4242/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(hits.hits, ["/redirect", "/page"], "the page's image was not fetched");
  });

  test("a site job (what dashboard reports print) loads its app and API answers from its own origin, and nothing else", async () => {
    // The mechanism of dashboard reports (the share view `<http base>/view#<key>`, answered by
    // Sluice's API), on a small single-page app: a script that asks its API after the page
    // loaded, opens an event stream, tries another origin, and draws only well after its
    // requests ended (longer than the quiet wait), then says so with `data-ready`.
    const appHits: string[] = [];
    const app = createServer((request, response) => {
      appHits.push(request.url ?? "");
      if (request.url === "/view") response.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>Dashboard</title><div id='root'>loading</div><script src='/app.js'></script>");
      else if (request.url === "/app.js") {
        response.writeHead(200, { "content-type": "text/javascript" }).end(`
          addEventListener("load", async () => {
            new EventSource("/events");
            fetch("${hits.url}/foreign").catch(() => {});
            const data = await (await fetch("/api/widget", { headers: { token: "t" } })).json();
            await new Promise((resolve) => setTimeout(resolve, 1500));
            document.getElementById("root").textContent = "Gauge " + data.value + " bar";
            document.documentElement.dataset.ready = "1";
          });`);
      } else if (request.url === "/api/widget") response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ value: 8128 }));
      else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
    const origin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    const pdf = new PdfService({ config: { ...defaultConfig.pdf, timeoutMs: 15_000 }, guard: new OutboundGuard({ allowPrivateTargets: true }), logger: pino({ level: "silent" }) });
    try {
      hits.hits.length = 0;
      const result = await pdf.render("acc", { source: { kind: "site", url: `${origin}/view#k3y`, origin }, options: { format: "A4", landscape: true } });
      const facts = readPdf(result.pdf);
      assert.equal(facts.title, "Dashboard");
      assert.match(facts.text, /Gauge 8128 bar/, "drawn by the app from its API's answer");
      assert.deepEqual(appHits.sort(), ["/api/widget", "/app.js", "/view"], "the event stream was not opened");
      assert.deepEqual(hits.hits, [], "another origin was not reached");
    } finally {
      await pdf.close();
      app.close();
    }
  });

  test("a url that answers an error fails with 502, naming it", async () => {
    const answer = await generate(sluice, { url: "http://127.0.0.1:1/" });
    assert.equal(answer.status, 502);
    assert.match(answer.message!, /could not be read/);
  });
});

describe("without Chromium", () => {
  let sluice: TestSluice;
  before(async () => {
    sluice = await startSluice({ smtp: smtpConfig(), pdf: { ...defaultConfig.pdf, chromiumPath: "/nonexistent/chromium" } });
  });
  after(() => sluice.close());

  test("the PDF service answers 503 saying how to enable it; everything else works", async () => {
    const answer = await generate(sluice, { html: "<p>x</p>" });
    assert.equal(answer.status, 503);
    assert.equal(answer.body.status, false);
    assert.match(answer.message!, /no Chromium executable at \/nonexistent\/chromium \(pdf\.chromiumPath\)/);
    assert.match(answer.message!, /install Chromium .*set pdf\.chromiumPath \(SLUICE_PDF_CHROMIUM_PATH, --pdf-chromium-path\)/);
    // Even for a body it would refuse: how to turn it on is the useful answer.
    assert.equal((await generate(sluice, {})).status, 503);
    assert.equal((await fetch(`${sluice.api}/status`)).status, 200);
    const before = smtp.mails.length;
    const mailed = await call(sluice, "POST", "/analysis/services/email/send", { to: "a@example.com", subject: "still mailing", message: "yes" });
    assert.equal(mailed.status, 200, mailed.body.message);
    await smtp.waitFor(before + 1);
  });

  test("a data report still makes its CSV; its PDF fails with the same message", async () => {
    const dev = await sluice.device();
    await resourcesOf(sluice).devices.sendDeviceData(dev.deviceId, [{ variable: "level", value: 7 }]);
    const created = await call(sluice, "POST", "/report", { name: "No chromium", format: ["csv"], query: { devices: [dev.deviceId], variables: ["level"], range: "1 hour" } });
    assert.equal(created.status, 200, created.body.message);
    const id = (created.body.result as { id: string }).id;
    let run = await call(sluice, "POST", `/report/${id}/run`);
    assert.equal(run.body.result.status, "ok", run.body.result.message);
    assert.equal(run.body.result.files.length, 1);
    await call(sluice, "PUT", `/report/${id}`, { format: ["pdf", "csv"] });
    run = await call(sluice, "POST", `/report/${id}/run`);
    assert.equal(run.body.result.status, "failed");
    assert.match(run.body.result.message, /PDF generation is not available on this server: no Chromium executable/);
  });
});
