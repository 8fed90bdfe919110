/**
 * A dashboard's public link: made with `GET /dashboard/:id/share/public` (the key is answered
 * this once, so the link is shown once, with a copy button and an iframe snippet), revoked with
 * `DELETE`. Making a new one replaces the old: the earlier link stops working.
 */
import { useState } from "preact/hooks";
import type { DashboardShareJson, ShareKeyJson } from "../../../../src/http/api_types.js";
import { del, get, seg } from "../../api/client.js";
import { ConfirmButton } from "../../components/confirm_button.js";
import { CopyButton } from "../../components/copy_button.js";
import { ErrorText } from "../../components/error_text.js";

/** Where the public view lives (served by the server with its own CSP; the key after `#` never reaches a server log). */
export const shareUrl = (key: string): string => `${location.origin}/view#${key}`;

const EXPIRY = [
  { value: "never", label: "Never" },
  { value: "1 day", label: "In a day" },
  { value: "1 week", label: "In a week" },
  { value: "1 month", label: "In a month" },
];

export function SharePanel({ dashboardId, share, onChanged }: { dashboardId: string; share: DashboardShareJson | null | undefined; onChanged(): void }) {
  const [made, setMade] = useState<ShareKeyJson | undefined>(undefined);
  const [expire, setExpire] = useState("never");
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const make = () =>
    run(async () => {
      setMade(await get<ShareKeyJson>(`/dashboard/${seg(dashboardId)}/share/public`, { expire_time: expire }));
      onChanged();
    });
  const revoke = () =>
    run(async () => {
      await del(`/dashboard/${seg(dashboardId)}/share/public`);
      setMade(undefined);
      onChanged();
    });

  const url = made ? shareUrl(made.token) : "";
  const snippet = made ? `<iframe src="${url}" width="1200" height="800" style="border:0" title="Dashboard"></iframe>` : "";
  return (
    <section class="card share-panel" aria-labelledby="share-title">
      <h2 id="share-title">Public link</h2>
      <p class="hint">Anyone with the link sees this dashboard, read only and live, without signing in. It can be embedded in another site.</p>
      {share ? (
        <p>
          A link is active (starts with <code>{share.prefix}</code>, made {new Date(share.created_at).toLocaleString()}, expires {share.expire_time === "never" ? "never" : new Date(share.expire_time).toLocaleString()}).
        </p>
      ) : (
        !made && <p class="muted">No public link.</p>
      )}
      {made && (
        <div class="shown-once" role="status">
          <p>
            <strong>Copy the link now:</strong> it is shown this once.
          </p>
          <p>
            <a href={url} target="_blank" rel="noreferrer noopener" class="mono share-url">
              {url}
            </a>{" "}
            <CopyButton text={url} label="public link" />
          </p>
          <label>
            To embed it
            <textarea readOnly rows={2} value={snippet} />
          </label>
          <CopyButton text={snippet} label="iframe snippet" />
        </div>
      )}
      <div class="form-actions">
        <label>
          Expires
          <select value={expire} onChange={(e) => setExpire(e.currentTarget.value)}>
            {EXPIRY.map((x) => (
              <option key={x.value} value={x.value}>
                {x.label}
              </option>
            ))}
          </select>
        </label>
        <button type="button" class="btn primary" disabled={busy} onClick={() => void make()}>
          {share ? "Replace the public link" : "Make a public link"}
        </button>
        {share && (
          <ConfirmButton title="Revoke the public link?" message="Whoever has it, or has embedded it, stops seeing the dashboard at once." confirm="Revoke" disabled={busy} onConfirm={() => void revoke()}>
            Revoke link
          </ConfirmButton>
        )}
      </div>
      <ErrorText error={error} />
    </section>
  );
}
