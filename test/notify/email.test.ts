import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import sdk from "@tago-io/sdk";
import { defaultConfig } from "../../src/config/schema.js";
import { MailError, Mailer } from "../../src/notify/mailer.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp_sink.js";

// Email through a real SMTP server on loopback (the smtp-server package): the mailer on its
// own, and the `email` action end to end from an MQTT message.
const { Resources } = sdk;

const credentials = { user: "sluice", password: "p4ss" };
let smtp: SmtpSink;
before(async () => {
  smtp = await startSmtpSink(credentials);
});
after(() => smtp.close());

/** The sink offers no STARTTLS, so `requireTLS` (on by default) is off unless a test turns it on. */
function smtpConfig(overrides: Partial<typeof defaultConfig.smtp> = {}) {
  return { ...defaultConfig.smtp, host: "127.0.0.1", port: smtp.port, requireTLS: false, user: credentials.user, password: credentials.password, from: "Sluice <alerts@sluice.test>", ...overrides };
}

describe("mailer", () => {
  test("sends through SMTP with AUTH: envelope, headers and text body as given", async () => {
    const mailer = new Mailer(smtpConfig());
    after(() => mailer.close());
    const before = smtp.mails.length;
    const sent = await mailer.send("acc", { to: "ops@example.com, oncall@example.com", subject: "Tank low", message: "Level is 12 %.\nRefill soon." });
    assert.deepEqual(sent.accepted, ["ops@example.com", "oncall@example.com"]);
    const mail = (await smtp.waitFor(before + 1))[before]!;
    assert.equal(mail.user, "sluice");
    assert.equal(mail.from, "alerts@sluice.test");
    assert.deepEqual(mail.to, ["ops@example.com", "oncall@example.com"]);
    assert.equal(mail.headers.subject, "Tank low");
    assert.equal(mail.headers.from, "Sluice <alerts@sluice.test>");
    assert.equal(mail.headers.to, "ops@example.com, oncall@example.com");
    assert.equal(mail.headers["message-id"], sent.messageId);
    assert.match(mail.headers["content-type"]!, /^text\/plain/);
    assert.equal(mail.text.trim(), "Level is 12 %.\nRefill soon.".replace("\n", "\r\n"));
  });

  test("html is sent as an alternative to the text", async () => {
    const mailer = new Mailer(smtpConfig());
    after(() => mailer.close());
    const before = smtp.mails.length;
    await mailer.send("acc", { to: ["a@example.com"], subject: "Report", message: "plain", html: "<p>rich</p>" });
    const mail = (await smtp.waitFor(before + 1))[before]!;
    assert.match(mail.headers["content-type"]!, /^multipart\/alternative/);
    assert.match(mail.raw, /plain/);
    assert.match(mail.raw, /<p>rich<\/p>/);
  });

  test("without an SMTP host every send fails with EMAIL_NOT_CONFIGURED", async () => {
    const mailer = new Mailer(defaultConfig.smtp);
    assert.equal(mailer.configured, false);
    await assert.rejects(mailer.send("acc", { to: "a@example.com", subject: "s", message: "m" }), (err: unknown) => err instanceof MailError && err.code === "EMAIL_NOT_CONFIGURED");
  });

  test("requireTLS (the default): a server that offers no STARTTLS gets neither credentials nor mail", async () => {
    assert.equal(defaultConfig.smtp.requireTLS, true);
    const mailer = new Mailer(smtpConfig({ requireTLS: true }));
    after(() => mailer.close());
    const before = smtp.mails.length;
    await assert.rejects(mailer.send("acc", { to: "a@example.com", subject: "s", message: "m" }), (err: unknown) => err instanceof MailError && err.code === "EMAIL_FAILED" && /STARTTLS/i.test(err.message));
    assert.equal(smtp.mails.length, before);
  });

  test("bad fields are refused naming the field; wrong credentials fail with EMAIL_FAILED", async () => {
    const mailer = new Mailer(smtpConfig());
    after(() => mailer.close());
    await assert.rejects(mailer.send("acc", { to: "not-an-address", subject: "s", message: "m" }), /to: "not-an-address" is not an email address/);
    await assert.rejects(mailer.send("acc", { to: "a@example.com", subject: "", message: "m" }), /subject is required/);
    await assert.rejects(mailer.send("acc", { to: "a@example.com", subject: "s" }), /message \(or html\) is required/);
    const wrong = new Mailer(smtpConfig({ password: "nope" }));
    after(() => wrong.close());
    await assert.rejects(wrong.send("acc", { to: "a@example.com", subject: "s", message: "m" }), (err: unknown) => err instanceof MailError && err.code === "EMAIL_FAILED" && /Invalid username or password/.test(err.message));
  });
});

describe("email action", () => {
  let sluice: TestSluice;
  let api: string;
  before(async () => {
    sluice = await startSluice({ smtp: smtpConfig() });
    api = sluice.api;
  });
  after(() => sluice.close());

  test("a device's message sends a templated email (also under the email-smtp alias)", async () => {
    const dev = await sluice.device();
    const r = new Resources({ token: sluice.adminToken, region: { api, sse: `${api}/events` } });
    const device = await r.devices.info(dev.deviceId);
    const { action } = await r.actions.create({
      name: "mail me",
      type: "mqtt_topic",
      trigger: [{ device: dev.deviceId, topic: "alerts/#" } as never],
      action: { type: "email-smtp", to: "ops@example.com", subject: "[$DEVICE_NAME$] $VARIABLE$", message: "$VARIABLE$ is $VALUE$ $UNIT$ (topic $TOPIC$, action $ACTION_NAME$)" } as never,
    });
    assert.equal((await r.actions.info(action)).action.type, "email", "stored under its canonical name");
    const before = smtp.mails.length;
    const client = await sluice.connect({ username: "Token", password: dev.token });
    await client.publishAsync("alerts/pressure", JSON.stringify({ variable: "pressure", value: 7.5, unit: "bar" }), { qos: 1 });
    const mail = (await smtp.waitFor(before + 1))[before]!;
    assert.deepEqual(mail.to, ["ops@example.com"]);
    assert.equal(mail.headers.subject, `[${device.name}] pressure`);
    assert.equal(mail.text.trim(), "pressure is 7.5 bar (topic alerts/pressure, action mail me)");
  });

  test("without SMTP configured the action's run fails and the device's inspector says EMAIL_NOT_CONFIGURED", async () => {
    const bare = await startSluice();
    after(() => bare.close());
    const bareApi = bare.api;
    const dev = await bare.device();
    const r = new Resources({ token: bare.adminToken, region: { api: bareApi, sse: `${bareApi}/events` } });
    await r.actions.create({
      name: "mail", type: "mqtt_topic", trigger: [{ device: dev.deviceId, topic: "x" } as never],
      action: { type: "email", to: "a@example.com", subject: "s", message: "m" } as never,
    });
    const client = await bare.connect({ username: "Token", password: dev.token });
    await client.publishAsync("x", "1", { qos: 1 });
    const res = await fetch(`${bareApi}/device/${dev.deviceId}/inspector?limit=50`, { headers: { token: bare.adminToken } });
    const events = ((await res.json()) as { result: { kind: string; summary: string; detail?: { code?: string } }[] }).result;
    const error = events.find((e) => e.kind === "error");
    assert.ok(error, JSON.stringify(events));
    assert.equal(error.detail?.code, "EMAIL_NOT_CONFIGURED");
    assert.match(error.summary, /mail: email is not configured/);
  });
});
