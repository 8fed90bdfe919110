import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generate } from "selfsigned";
import type { TlsMaterial } from "../mqtt/transports/tls.js";
import { privateDir, privateFile } from "../store/private_files.js";

/**
 * The configured certificate and key, or a self-signed pair made on first start and kept in
 * `<dataDir>/tls/` so clients that pin it keep working across restarts.
 */
export async function loadTlsMaterial(dataDir: string, certFile?: string, keyFile?: string): Promise<TlsMaterial & { selfSigned: boolean; certPath: string }> {
  if (certFile && keyFile) return { cert: readFileSync(certFile), key: readFileSync(keyFile), selfSigned: false, certPath: certFile };
  const dir = join(dataDir, "tls");
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    const pems = await generate([{ name: "commonName", value: "localhost" }], {
      keySize: 2048,
      days: 3650,
      extensions: [{ name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }, { type: 7, ip: "127.0.0.1" }] }],
    } as Parameters<typeof generate>[1]);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(keyPath, pems.private, { mode: 0o600 });
    await writeFile(certPath, pems.cert);
  }
  // The key's modes at every start (a key the operator configured is theirs to keep).
  privateDir(dir);
  privateFile(keyPath);
  return { cert: readFileSync(certPath), key: readFileSync(keyPath), selfSigned: true, certPath };
}
