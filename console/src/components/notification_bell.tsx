/**
 * The bell: unread notifications, counted when the console opens and kept current by the
 * `notification` channel of `/events`; the list opens in a panel and items can be marked read.
 */
import { signal } from "@preact/signals";
import { useEffect, useState } from "preact/hooks";
import type { NotificationInfo } from "../../../src/http/api_types.js";
import { get, put } from "../api/client.js";
import { channel } from "../live/sse.js";
import { ErrorText } from "./error_text.js";
import { Icon } from "./icon.js";

const PAGE = 50;
export const unread = signal<NotificationInfo[]>([]);

async function loadUnread(): Promise<void> {
  unread.value = await get<NotificationInfo[]>("/notification", { filter: { read: false }, amount: PAGE, orderBy: "created_at,desc" });
}

export async function markRead(ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await put("/notification/read", { notification_ids: ids });
  unread.value = unread.value.filter((n) => !ids.includes(n.id));
}

export function NotificationBell() {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    loadUnread().catch(setError);
    return channel("notification", (payload) => {
      const n = payload as NotificationInfo;
      if (typeof n?.id === "string" && !n.read) unread.value = [n, ...unread.value.filter((x) => x.id !== n.id)].slice(0, PAGE);
    });
  }, []);
  const count = unread.value.length;
  const shown = count >= PAGE ? `${PAGE - 1}+` : String(count);
  return (
    <div class="bell">
      <button type="button" class="icon-btn" aria-label={`Notifications: ${count} unread`} aria-expanded={open} onClick={() => setOpen(!open)}>
        <Icon name="bell" />
        {count > 0 && <span class="badge" aria-hidden="true">{shown}</span>}
      </button>
      {open && (
        <div class="bell-panel" role="dialog" aria-label="Unread notifications">
          <ErrorText error={error} />
          {count === 0 ? <p class="muted">No unread notifications.</p> : (
            <>
              <button type="button" class="btn small" onClick={() => void markRead(unread.value.map((n) => n.id)).catch(setError)}>
                Mark all read
              </button>
              <ul class="bell-list">
                {unread.value.map((n) => (
                  <li key={n.id}>
                    <strong>{n.title}</strong>
                    <p>{n.message}</p>
                    <small class="muted">{new Date(n.created_at).toLocaleString()}</small>
                    <button type="button" class="btn small" onClick={() => void markRead([n.id]).catch(setError)} aria-label={`Mark “${n.title}” read`}>
                      Mark read
                    </button>
                  </li>
                ))}
              </ul>
            </>
          )}
          <a href="#/notifications" onClick={() => setOpen(false)}>All notifications</a>
        </div>
      )}
    </div>
  );
}
