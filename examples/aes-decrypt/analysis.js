// Decrypts AES-256-GCM payloads sent by devices and stores what they hold as records.
//
// A device publishes base64( iv (12 bytes) | ciphertext | auth tag (16 bytes) ), where the
// plaintext is JSON such as {"temperature": 21.5, "humidity": 40}. An mqtt_topic action of
// type "script" runs this analysis with the message as its scope: one record
// { variable: "payload", value: "<base64>", device: "<device id>" }. The key is the analysis
// environment variable AES_KEY (64 hex characters). See README.md.
const { createDecipheriv } = require("node:crypto");
const { Analysis, Resources } = require("@tago-io/sdk");

function decrypt(key, text) {
  const raw = Buffer.from(text.trim(), "base64");
  if (raw.length < 12 + 16 + 1) throw new Error("payload too short for iv + tag");
  const iv = raw.subarray(0, 12);
  const tag = raw.subarray(raw.length - 16);
  const decipher = createDecipheriv("aes-256-gcm", key, iv);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString("utf8");
}

async function decryptPayload(context, scope) {
  const env = Object.fromEntries(context.environment.map(({ key, value }) => [key, value]));
  const key = Buffer.from(env.AES_KEY || "", "hex");
  if (key.length !== 32) {
    context.log("AES_KEY must be set to 64 hex characters (a 256-bit key)");
    return;
  }
  const resources = new Resources({ token: context.token });
  for (const record of scope) {
    if (record.variable !== "payload" || typeof record.value !== "string") continue;
    let values;
    try {
      values = JSON.parse(decrypt(key, record.value));
    } catch (err) {
      // A wrong key or a tampered message fails the GCM tag check: nothing is stored.
      context.log(`could not decrypt the payload of ${record.device}: ${err.message}`);
      continue;
    }
    const records = Object.entries(values).map(([variable, value]) => ({ variable, value, group: record.group, time: record.time }));
    await resources.devices.sendDeviceData(record.device, records);
    context.log(`stored ${records.length} decrypted record(s) for device ${record.device}`);
  }
}

Analysis.use(decryptPayload);
