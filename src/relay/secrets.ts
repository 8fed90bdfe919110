import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SluiceError } from "../errors.js";
import { privateFile } from "../store/private_files.js";

/** The file a key is generated into when the configuration names none. */
export const RELAY_SECRET_FILE = "relay-secret";

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Relay credentials (passwords, client keys) at rest: AES-256-GCM, a fresh IV per value, and
 * the relay id and field name as additional data, so a ciphertext copied to another relay or
 * field fails to decrypt instead of handing over someone else's password.
 */
export class RelaySecrets {
  private constructor(private readonly key: Buffer) {}

  /**
   * The key from `relaySecret` (64 hex digits are taken as the key itself; any other text of
   * 16 characters or more is stretched with scrypt), else from `<dataDir>/relay-secret`,
   * generated there with mode 0600 on first start. Returns whether it was generated.
   */
  static open(configured: string, dataDir: string): { secrets: RelaySecrets; generated: string | undefined } {
    if (configured !== "") return { secrets: new RelaySecrets(keyFromText(configured, "relaySecret")), generated: undefined };
    const path = join(dataDir, RELAY_SECRET_FILE);
    // Fixed at every start, not only when generated: an earlier copy may have left it readable.
    if (privateFile(path)) return { secrets: new RelaySecrets(keyFromText(readFileSync(path, "utf8").trim(), path)), generated: undefined };
    const hex = randomBytes(32).toString("hex");
    // "wx": never overwrite a key another process wrote meanwhile (its ciphertexts would be lost).
    writeFileSync(path, `${hex}\n`, { mode: 0o600, flag: "wx" });
    return { secrets: new RelaySecrets(Buffer.from(hex, "hex")), generated: path };
  }

  /** For tests and tools: a key given directly. */
  static fromKey(key: Buffer): RelaySecrets {
    if (key.length !== 32) throw new SluiceError("RELAY_SECRET", "a relay key has 32 bytes");
    return new RelaySecrets(key);
  }

  encrypt(plain: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return [VERSION, iv.toString("base64"), cipher.getAuthTag().toString("base64"), body.toString("base64")].join(".");
  }

  decrypt(sealed: string, context: string): string {
    const [version, iv, tag, body] = sealed.split(".");
    if (version !== VERSION || iv === undefined || tag === undefined || body === undefined) {
      throw new SluiceError("RELAY_SECRET", "a stored relay credential is not in a known format");
    }
    try {
      // GCM accepts tags as short as 4 bytes unless told otherwise; a short tag is a forgery
      // that needs 2^32 tries instead of 2^128, so only the full 16 bytes we write are taken.
      const tagBytes = Buffer.from(tag, "base64");
      if (tagBytes.length !== TAG_BYTES) throw new Error("truncated tag");
      const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64"), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(tagBytes);
      return Buffer.concat([decipher.update(Buffer.from(body, "base64")), decipher.final()]).toString("utf8");
    } catch {
      // GCM's tag check fails alike for a changed key and a tampered value; both need the operator.
      throw new SluiceError("RELAY_SECRET", "a stored relay credential cannot be decrypted: was relaySecret (or the relay-secret file) changed?");
    }
  }
}

function keyFromText(text: string, origin: string): Buffer {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, "hex");
  if (text.length < 16) throw new SluiceError("RELAY_SECRET", `${origin}: a relay secret needs 64 hex digits or at least 16 characters`);
  // A fixed salt: the key must be the same at every start, and the text is the secret.
  return scryptSync(text, "sluice-relay-secret", 32);
}
