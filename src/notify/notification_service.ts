import { invalid, notFound } from "../errors.js";
import type { EventHub } from "../events/hub.js";
import { generateId } from "../identity/tokens.js";
import type { NotificationExtra, NotificationRow, NotificationStore } from "./sqlite/notification_store.js";

/** What `send` takes: the SDK's NotificationCreate (also the analysis service's body). */
export interface NotificationInput {
  title?: unknown;
  message?: unknown;
  read?: unknown;
  icon?: unknown;
  buttons?: unknown;
  buttons_enabled?: unknown;
  buttons_autodisable?: unknown;
}

export type { NotificationInfo } from "../http/api_types.js";
import type { NotificationInfo } from "../http/api_types.js";

/** The SSE channel new notifications are published on (`GET /events?channels=notification`). */
export const NOTIFICATION_CHANNEL = "notification";

const MAX_TITLE = 200;
const MAX_MESSAGE = 10_000;
const MAX_BUTTONS = 10;
/** Buttons and icon together, as JSON: they are only kept and returned. */
const MAX_EXTRA_BYTES = 16 * 1024;

/**
 * In-app notifications of an account: stored (bounded, newest kept), listed, marked read,
 * deleted; each new one is also published live on the account's `notification` channel.
 * `send` is what actions and the analysis notification service call. Methods return promises
 * so that a store doing I/O (PostgreSQL) can sit behind the same interface.
 */
export class NotificationService {
  constructor(
    private readonly store: NotificationStore,
    private readonly hub: EventHub,
    private readonly maxPerAccount: number,
    /** The account's plan on one more notification (monthly quota); throws to refuse. */
    private readonly admit?: (accountId: string) => void,
  ) {}

  async send(accountId: string, input: NotificationInput): Promise<NotificationInfo> {
    const row: NotificationRow = {
      id: generateId(), accountId, title: text(input.title, "title", MAX_TITLE), message: text(input.message, "message", MAX_MESSAGE),
      read: input.read === true, extra: extra(input), createdAt: new Date(),
    };
    this.admit?.(accountId); // after validation: a refused input uses no quota
    await this.store.insert(row, this.maxPerAccount);
    const info = notificationInfo(row);
    this.hub.publish(accountId, NOTIFICATION_CHANNEL, info);
    return info;
  }

  /** Unread first, then newest (the SDK list applies its query on top). */
  async list(accountId: string): Promise<NotificationInfo[]> {
    return (await this.store.list(accountId)).map(notificationInfo);
  }

  async get(accountId: string, id: string): Promise<NotificationInfo> {
    const row = await this.store.get(accountId, id);
    if (!row) throw notFound("Notification");
    return notificationInfo(row);
  }

  /** Returns how many of `ids` the account has (the others are ignored, as they may have been dropped). */
  async setRead(accountId: string, ids: readonly string[], read: boolean): Promise<number> {
    return this.store.setRead(accountId, ids, read);
  }

  async markAllRead(accountId: string): Promise<number> {
    return this.store.markAllRead(accountId);
  }

  async remove(accountId: string, id: string): Promise<void> {
    if (!(await this.store.delete(accountId, id))) throw notFound("Notification");
  }
}

export function notificationInfo(row: NotificationRow): NotificationInfo {
  return {
    id: row.id, title: row.title, message: row.message, read: row.read, icon: row.extra.icon ?? null,
    buttons: row.extra.buttons ?? [], buttons_enabled: row.extra.buttons_enabled ?? false,
    buttons_autodisable: row.extra.buttons_autodisable ?? false, created_at: row.createdAt.toISOString(),
  };
}

function text(value: unknown, field: string, max: number): string {
  if (typeof value !== "string" || value.trim() === "") throw invalid(`${field} is required`);
  if (value.length > max) throw invalid(`${field} is longer than ${max} characters`);
  return value;
}

function extra(input: NotificationInput): NotificationExtra {
  const out: NotificationExtra = {};
  if (input.icon !== undefined && input.icon !== null) {
    if (typeof input.icon !== "object" || Array.isArray(input.icon)) throw invalid("icon must be an object");
    out.icon = input.icon;
  }
  if (input.buttons !== undefined) {
    if (!Array.isArray(input.buttons)) throw invalid("buttons must be a list");
    if (input.buttons.length > MAX_BUTTONS) throw invalid(`at most ${MAX_BUTTONS} buttons`);
    out.buttons = input.buttons;
  }
  if (input.buttons_enabled !== undefined) out.buttons_enabled = input.buttons_enabled === true;
  if (input.buttons_autodisable !== undefined) out.buttons_autodisable = input.buttons_autodisable === true;
  if (JSON.stringify(out).length > MAX_EXTRA_BYTES) throw invalid(`icon and buttons take more than ${MAX_EXTRA_BYTES} bytes`);
  return out;
}
