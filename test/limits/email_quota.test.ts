import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { defaultConfig } from "../../src/config/schema.js";
import { BUILTIN_PLANS } from "../../src/limits/plans.js";
import { call, resourcesOf } from "../helpers/analysis.js";
import { startSluice, type TestSluice } from "../helpers/sluice.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp_sink.js";

// emailsPerMonth: `email` actions and the analysis email service share one monthly quota,
// refused like the other monthly quotas (429 RATE_LIMITED until the month turns).

let smtp: SmtpSink;
let sluice: TestSluice;
before(async () => {
  smtp = await startSmtpSink();
  sluice = await startSluice({
    plans: { mail2: { extends: "free", emailsPerMonth: 2 } },
    defaultPlan: "mail2",
    smtp: { ...defaultConfig.smtp, host: "127.0.0.1", port: smtp.port, requireTLS: false, from: "Sluice <alerts@sluice.test>" },
  });
});
after(async () => {
  await sluice.close();
  await smtp.close();
});

describe("emailsPerMonth", () => {
  test("the built-in plans bound email; unlimited does not", () => {
    assert.equal(BUILTIN_PLANS.free!.emailsPerMonth, 100);
    assert.equal(BUILTIN_PLANS.starter!.emailsPerMonth, 5_000);
    assert.equal(BUILTIN_PLANS.scale!.emailsPerMonth, 50_000);
    assert.equal(BUILTIN_PLANS.unlimited!.emailsPerMonth, Infinity);
  });

  test("actions and the analysis email service count together; past the quota both are refused", async () => {
    const dev = await sluice.device();
    const created = await call(sluice, "POST", "/action", {
      name: "mail me", type: "mqtt_topic", trigger: [{ device: dev.deviceId, topic: "alarm" }],
      action: { type: "email", to: "ops@example.com", subject: "alarm $VALUE$", message: "$VARIABLE$ is $VALUE$" },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const { token } = await resourcesOf(sluice).analysis.create({ name: "mailer" });
    const client = await sluice.connect({ username: "Token", password: dev.token });

    await client.publishAsync("alarm", JSON.stringify({ variable: "t", value: 1 }), { qos: 1 });
    await smtp.waitFor(1);
    const sent = await call(sluice, "POST", "/analysis/services/email/send", { to: "ops@example.com", subject: "from analysis", message: "m" }, token);
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    await smtp.waitFor(2);

    const refused = await call(sluice, "POST", "/analysis/services/email/send", { to: "ops@example.com", subject: "one too many", message: "m" }, token);
    assert.equal(refused.status, 429);
    assert.equal(refused.body.status, false);
    assert.match(refused.body.message, /the plan's 2 emails per month are used up/);

    await client.publishAsync("alarm", JSON.stringify({ variable: "t", value: 2 }), { qos: 1 });
    await sleep(300);
    assert.equal(smtp.mails.length, 2, "the action's third email was not sent");

    const usage = await call(sluice, "GET", "/account/usage");
    const line = (usage.body.result as { usage: Record<string, { used: number; limit: number | null }> }).usage.emailsPerMonth;
    assert.deepEqual(line, { used: 2, limit: 2 });
  });
});
