/**
 * Every notification of the account, a page at a time in the API's order (unread first, then
 * newest). New ones arrive live on the `notification` channel and join the first page. Read
 * marks, mark-all and deletes go through the bell's functions (components/notification_bell),
 * so the bell's unread count and this page never disagree.
 */
import { useEffect, useState } from "preact/hooks";
import type { NotificationInfo } from "../../../src/http/api_types.js";
import { get } from "../api/client.js";
import { InlineConfirm } from "../components/inline_confirm.js";
import { ErrorText } from "../components/error_text.js";
import { LiveState } from "../components/live_state.js";
import { isNotification, markAllRead, markRead, markUnread, removeNotification, unread, unreadCount } from "../components/notification_bell.js";
import { PageHeader } from "../components/page_header.js";
import { channel } from "../live/sse.js";
import { navigate, pathQuery } from "../router.js";
import "../styles/panels.css";
import "../styles/notifications.css";

const PAGE = 25;

export default function Notifications() {
  const page = Math.max(1, Number(pathQuery().get("page")) || 1);
  const [items, setItems] = useState<NotificationInfo[] | undefined>(undefined);
  const [hasNext, setHasNext] = useState(false);
  const [error, setError] = useState<unknown>(undefined);

  useEffect(() => {
    let live = true;
    const controller = new AbortController();
    setError(undefined);
    // One more than a page tells whether a next page exists.
    get<NotificationInfo[]>("/notification", { page: 1, amount: page * PAGE + 1 }, controller.signal).then(
      (all) => {
        if (!live) return;
        setItems(all.slice((page - 1) * PAGE, page * PAGE));
        setHasNext(all.length > page * PAGE);
      },
      (err: unknown) => live && !controller.signal.aborted && setError(err),
    );
    // New ones are unread and newest: they belong at the top of the first page.
    const stop = channel("notification", (payload) => {
      if (!live || page !== 1 || !isNotification(payload)) return;
      setItems((old) => (old ? [payload, ...old.filter((n) => n.id !== payload.id)].slice(0, PAGE) : old));
    });
    return () => {
      live = false;
      controller.abort();
      stop();
    };
  }, [page]);

  const act = async (work: () => Promise<void>) => {
    setError(undefined);
    try {
      await work();
    } catch (err) {
      setError(err);
    }
  };
  const setRead = (n: NotificationInfo, read: boolean) =>
    act(async () => {
      await (read ? markRead([n.id]) : markUnread([n]));
      setItems((old) => old?.map((x) => (x.id === n.id ? { ...x, read } : x)));
    });
  const readAll = () =>
    act(async () => {
      await markAllRead();
      setItems((old) => old?.map((x) => ({ ...x, read: true })));
    });
  const remove = async (n: NotificationInfo) => {
    await removeNotification(n.id);
    setItems((old) => old?.filter((x) => x.id !== n.id));
  };

  const unreadNow = unread.value.length;
  return (
    <section class="notifications-page">
      <PageHeader title="Notifications">
        <LiveState />
        <span class="muted" aria-live="polite">
          {unreadNow === 0 ? "All read" : `${unreadCount.value} unread`}
        </span>
        <button type="button" class="btn" onClick={() => void readAll()} disabled={unreadNow === 0}>
          Mark all read
        </button>
      </PageHeader>
      <ErrorText error={error} />
      {items === undefined ? (
        !error && <p class="muted" aria-busy="true">Loading…</p>
      ) : items.length === 0 ? (
        <p class="muted">{page === 1 ? "No notifications. Actions, analyses and the API can send them." : "Nothing on this page."}</p>
      ) : (
        <ul class="notification-list" aria-label={`Notifications, page ${page}`}>
          {items.map((n) => (
            <li key={n.id} class={n.read ? "notification" : "notification unread"}>
              <div class="notification-head">
                {!n.read && <span class="pill ok">Unread</span>}
                <strong class="notification-title">{n.title}</strong>
                <time class="muted small" dateTime={n.created_at}>
                  {new Date(n.created_at).toLocaleString()}
                </time>
              </div>
              <p class="notification-message">{n.message}</p>
              <div class="form-actions">
                <button type="button" class="btn small" onClick={() => void setRead(n, !n.read)} aria-label={`${n.read ? "Mark unread" : "Mark read"}: “${n.title}”`}>
                  {n.read ? "Mark unread" : "Mark read"}
                </button>
                <InlineConfirm small label="Delete" question="Delete it?" ariaLabel={`Delete “${n.title}”`} onConfirm={() => remove(n)} />
              </div>
            </li>
          ))}
        </ul>
      )}
      {(page > 1 || hasNext) && (
        <nav class="pager" aria-label="Pages">
          <button type="button" class="btn" disabled={page === 1} onClick={() => navigate(page === 2 ? "/notifications" : `/notifications?page=${page - 1}`)}>
            Newer
          </button>
          <span class="muted">Page {page}</span>
          <button type="button" class="btn" disabled={!hasNext} onClick={() => navigate(`/notifications?page=${page + 1}`)}>
            Older
          </button>
        </nav>
      )}
    </section>
  );
}
