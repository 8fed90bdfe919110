import { existsSync, rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import type { Logger } from "../observability/logger.js";
import { privateFile } from "../store/private_files.js";
import type { UserService } from "./users.js";

export interface AdminSetupDeps {
  users: UserService;
  /** The admin account (the one Sluice made on first start). */
  adminAccountId: string;
  /** Email of the admin's first user (config `users.adminEmail`). */
  email: string;
  /** `<dataDir>/setup-link`. */
  file: string;
  /** The console's URL for a setup token: `http://<host>:<port>/#/setup/<token>`. */
  linkFor(token: string): string;
  logger: Logger;
}

/**
 * The admin account's first user, and the one-time link that sets its password (Sluice never
 * chooses a password). At a start where the admin account has no user (the first start, or
 * the first after an upgrade), the user is made with `users.adminEmail` and no password. While
 * it has none, a setup link is kept: a random token (its hash stored, valid
 * `users.setupLinkSeconds`) written as a URL to `<dataDir>/setup-link` (0600) and logged once.
 * Later starts only log where the file is while the link is unused and valid; an expired (or
 * lost) link is replaced by a new one. Using it (`POST /account/setup`) removes the file.
 */
export async function prepareAdminSetup(deps: AdminSetupDeps): Promise<void> {
  const { users, logger, file } = deps;
  let list = await users.list(deps.adminAccountId);
  if (list.length === 0) {
    try {
      await users.createWithoutPassword(deps.adminAccountId, deps.email, "Admin");
      logger.info({ email: deps.email }, "created the admin user; set its password through the setup link");
    } catch (err) {
      // Nodes of a cluster starting at once on a new database all try; one makes the user, and
      // the others find it below and give the link out too.
      list = await users.list(deps.adminAccountId);
      if (list.length === 0) {
        logger.warn({ err, email: deps.email }, "cannot create the admin user (is users.adminEmail taken by another account's user?)");
        return;
      }
    }
    list = await users.list(deps.adminAccountId);
  }
  const pending = list.find((u) => u.passwordHash === null);
  if (!pending) {
    removeSetupLink(file);
    return;
  }
  if (existsSync(file) && (await users.hasLiveSetupToken(pending.id))) {
    privateFile(file);
    logger.info({ path: file, email: pending.email }, "the admin user's password is not set yet: its setup link is in this file");
    return;
  }
  const { token, expiresAt } = await users.createSetupToken(pending.id);
  const url = deps.linkFor(token);
  rmSync(file, { force: true }); // writeFile's mode applies only to a new file
  await writeFile(file, `${url}\n`, { mode: 0o600 });
  logger.info({ url, path: file, email: pending.email, expires_at: expiresAt.toISOString() }, "open this link once to set the admin user's password");
}

/** The setup link has served (or is not needed): its file goes. */
export function removeSetupLink(file: string): void {
  rmSync(file, { force: true });
}
