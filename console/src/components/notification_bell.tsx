/**
 * The bell: unread notifications, counted when the console opens and kept current by the
 * `notification` channel of `/events`; the list opens in a panel and items can be marked read.
 */
import { computed, signal } from "@preact/signals";
import { useEffect, useRef, useState } from "preact/hooks";
import type { NotificationInfo } from "../../../src/http/api_types.js";
import { del, get, put, seg } from "../api/client.js";
import { channel } from "../live/sse.js";
import { ErrorText } from "./error_text.js";
import { Icon } from "./icon.js";

const PAGE = 50;
/**
 * The newest unread notifications (at most PAGE): the one record of what is unread, which the
 * bell and the notifications page both read and change through the functions below.
 */
export const unread = signal<NotificationInfo[]>([]);

/** The unread count as the bell and the page show it ("49+" once the list is full). */
export const unreadCount = computed(() => (unread.value.length >= PAGE ? `${PAGE - 1}+` : String(unread.value.length)));

async function loadUnread(): Promise<void> {
  unread.value = await get<NotificationInfo[]>("/notification", { filter: { read: false }, amount: PAGE, orderBy: "created_at,desc" });
}

/** After removing some from a full list, older unread ones may now fit: ask again. */
function dropFromUnread(ids: readonly string[]): void {
  const wasFull = unread.value.length >= PAGE;
  unread.value = unread.value.filter((n) => !ids.includes(n.id));
  if (wasFull) void loadUnread().catch(() => undefined);
}

export async function markRead(ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await put("/notification/read", { notification_ids: ids });
  dropFromUnread(ids);
}

export async function markUnread(items: NotificationInfo[]): Promise<void> {
  if (items.length === 0) return;
  await put("/notification/read", { notification_ids: items.map((n) => n.id), read: false });
  const ids = new Set(items.map((n) => n.id));
  const merged = [...unread.value.filter((n) => !ids.has(n.id)), ...items.map((n) => ({ ...n, read: false }))];
  unread.value = merged.sort((a, b) => b.created_at.localeCompare(a.created_at)).slice(0, PAGE);
}

export async function markAllRead(): Promise<void> {
  await put("/notification/markallread");
  unread.value = [];
}

export async function removeNotification(id: string): Promise<void> {
  await del(`/notification/${seg(id)}`);
  dropFromUnread([id]);
}

/** A notification the `notification` channel brought (both the bell and the page listen). */
export function isNotification(payload: unknown): payload is NotificationInfo {
  return typeof payload === "object" && payload !== null && typeof (payload as NotificationInfo).id === "string";
}

export function NotificationBell() {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    loadUnread().catch(setError);
    return channel("notification", (payload) => {
      if (isNotification(payload) && !payload.read) unread.value = [payload, ...unread.value.filter((x) => x.id !== payload.id)].slice(0, PAGE);
    });
  }, []);
  // Open, the panel closes on Escape (wherever focus went: a marked item's button leaves) and
  // on a click outside it.
  const box = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== "Escape") return;
      setOpen(false);
      button.current?.focus();
    };
    const onPointer = (e: PointerEvent) => {
      if (!box.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("keydown", onKey);
    document.addEventListener("pointerdown", onPointer);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("pointerdown", onPointer);
    };
  }, [open]);
  const count = unread.value.length;
  const shown = unreadCount.value;
  return (
    <div class="bell" ref={box}>
      <button ref={button} type="button" class="icon-btn" aria-label={`Notifications: ${shown} unread`} aria-expanded={open} onClick={() => setOpen(!open)}>
        <Icon name="bell" />
        {count > 0 && <span class="badge" aria-hidden="true">{shown}</span>}
      </button>
      {open && (
        <div class="bell-panel" role="dialog" aria-label="Unread notifications">
          <ErrorText error={error} />
          {count === 0 ? <p class="muted">No unread notifications.</p> : (
            <>
              <button type="button" class="btn small" onClick={() => void markAllRead().catch(setError)}>
                Mark all read
              </button>
              <ul class="bell-list">
                {unread.value.map((n) => (
                  <li key={n.id}>
                    <strong>{n.title}</strong>
                    <p>{n.message}</p>
                    <small class="muted">{new Date(n.created_at).toLocaleString()}</small>
                    <button type="button" class="btn small" onClick={() => void markRead([n.id]).catch(setError)} aria-label={`Mark read: “${n.title}”`}>
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
