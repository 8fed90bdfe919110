import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "./free_port.js";

export const MOSQUITTO = ["/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/usr/bin/mosquitto"].find((p) => existsSync(p)) ?? "mosquitto";

export interface TestMosquitto {
  dir: string;
  /** Plain TCP listener (username/password required). */
  port: number;
  /** TLS listener (same passwords), with a certificate for 127.0.0.1 signed by `ca`. */
  tlsPort: number;
  /** TLS listener that also requires a client certificate signed by `ca`. */
  mtlsPort: number;
  /** The CA that signed the server certificate, PEM. */
  ca: string;
  /** A client certificate and key signed by `ca`, PEM. */
  clientCert: string;
  clientKey: string;
  user: string;
  password: string;
  /** Stops the process (SIGTERM, so it saves its persistent sessions), keeping its data. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
  /** `mosquitto_pub` with this broker's credentials. */
  pub(topic: string, message: string, options?: { qos?: 0 | 1 | 2; retain?: boolean }): void;
}


async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`mosquitto did not listen on ${port}`);
    await sleep(50);
  }
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: "ignore" });
}

/** A CA, and a server certificate for 127.0.0.1 / localhost signed by it (EC keys: fast to make). */
function makeCertificates(dir: string): void {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=sluice test CA"], dir);
  openssl(["req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"], dir);
  writeFileSync(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san.ext"], dir);
  openssl(["req", ...ec, "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=sluice relay"], dir);
  openssl(["x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "client.crt", "-days", "2"], dir);
}

/**
 * A real Mosquitto 2 in a temp dir on ephemeral loopback ports, as a relay's external broker:
 * a password file (mosquitto_passwd), a TCP and a TLS listener, persistence on (so sessions
 * and their queued messages survive `stop`/`start`).
 */
export async function startMosquitto(): Promise<TestMosquitto> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-mosquitto-"));
  const user = "relay";
  const password = "s3cret-relay-pw";
  execFileSync("mosquitto_passwd", ["-b", "-c", join(dir, "passwd"), user, password], { stdio: "ignore" });
  makeCertificates(dir);
  const [port, tlsPort, mtlsPort] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(
    join(dir, "mosquitto.conf"),
    [
      // Run as root (CI), keep root: the files are in a 0700 temp dir.
      "user root",
      "per_listener_settings false",
      "allow_anonymous false",
      `password_file ${join(dir, "passwd")}`,
      "persistence true",
      `persistence_location ${dir}/`,
      "max_queued_messages 10000",
      "log_dest none",
      `listener ${port} 127.0.0.1`,
      `listener ${tlsPort} 127.0.0.1`,
      `cafile ${join(dir, "ca.crt")}`,
      `certfile ${join(dir, "server.crt")}`,
      `keyfile ${join(dir, "server.key")}`,
      `listener ${mtlsPort} 127.0.0.1`,
      `cafile ${join(dir, "ca.crt")}`,
      `certfile ${join(dir, "server.crt")}`,
      `keyfile ${join(dir, "server.key")}`,
      "require_certificate true",
      "",
    ].join("\n"),
  );
  let proc: ChildProcess | undefined;
  const start = async () => {
    proc = spawn(MOSQUITTO, ["-c", join(dir, "mosquitto.conf")], { stdio: ["ignore", "ignore", "pipe"] });
    proc.stderr?.resume();
    await Promise.all([waitForPort(port), waitForPort(tlsPort), waitForPort(mtlsPort)]);
  };
  const stop = async () => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once("exit", () => resolve());
      p.kill("SIGTERM");
    });
  };
  await start();
  return {
    dir, port, tlsPort, mtlsPort, user, password,
    ca: readFileSync(join(dir, "ca.crt"), "utf8"),
    clientCert: readFileSync(join(dir, "client.crt"), "utf8"),
    clientKey: readFileSync(join(dir, "client.key"), "utf8"),
    start,
    stop,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    pub(topic, message, options = {}) {
      execFileSync("mosquitto_pub", [
        "-h", "127.0.0.1", "-p", String(port), "-u", user, "-P", password, "-t", topic, "-m", message,
        "-q", String(options.qos ?? 1), ...(options.retain ? ["-r"] : []),
      ], { stdio: "ignore", timeout: 10_000 });
    },
  };
}
