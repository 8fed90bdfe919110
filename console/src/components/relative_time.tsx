/**
 * "12 s ago", kept current by one shared clock (a tick every 5 s for every instance on the
 * page), with the exact time as its title and `datetime`. Null shows `never`.
 */
import { signal } from "@preact/signals";
import { useEffect } from "preact/hooks";

const now = signal(Date.now());
let users = 0;
let timer: ReturnType<typeof setInterval> | undefined;

function useClock(): void {
  useEffect(() => {
    if (users++ === 0) timer = setInterval(() => (now.value = Date.now()), 5000);
    return () => {
      if (--users === 0) clearInterval(timer);
    };
  }, []);
}

export function ago(iso: string, at: number): string {
  const s = Math.max(0, Math.round((at - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 30 * 86_400) return `${Math.floor(s / 86_400)} d ago`;
  return new Date(iso).toLocaleDateString();
}

export function RelativeTime({ iso, never = "never" }: { iso: string | null; never?: string }) {
  useClock();
  if (iso === null) return <span class="muted">{never}</span>;
  // Never shown in the future: a device's clock a little ahead of the server's says "0 s ago".
  const at = Math.max(now.value, Date.now());
  return (
    <time dateTime={iso} title={new Date(iso).toLocaleString()}>
      {ago(iso, at)}
    </time>
  );
}
