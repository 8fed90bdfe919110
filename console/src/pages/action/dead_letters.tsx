/**
 * A webhook action's dead letters (`GET /action/:id/dead_letters`, newest first, 20 a page):
 * what was to be sent, where, and why it failed; remove one or all. There is no retry in the
 * API (the headers came from the triggering message): the body can be copied to replay by hand.
 */
import { useState } from "preact/hooks";
import type { DeadLetterJson } from "../../../../src/http/api_types.js";
import { del, get, seg } from "../../api/client.js";
import { ConfirmButton } from "../../components/confirm_button.js";
import { CopyButton } from "../../components/copy_button.js";
import { ErrorText } from "../../components/error_text.js";
import { useApi } from "../../hooks/use_api.js";

const AMOUNT = 20;

export function DeadLetters({ actionId }: { actionId: string }) {
  const [page, setPage] = useState(1);
  const letters = useApi((signal) => get<DeadLetterJson[]>(`/action/${seg(actionId)}/dead_letters`, { page, amount: AMOUNT }, signal), [actionId, page]);
  const [error, setError] = useState<unknown>(undefined);
  const [status, setStatus] = useState("");
  const act = async (work: () => Promise<string>) => {
    setError(undefined);
    try {
      setStatus(await work());
      letters.reload();
    } catch (err) {
      setError(err);
    }
  };
  const list = letters.data ?? [];
  return (
    <section class="card dead-letters" aria-labelledby="dead-letters-title">
      <div class="toolbar">
        <h2 id="dead-letters-title">Dead letters</h2>
        <button type="button" class="btn small" onClick={letters.reload}>
          Refresh
        </button>
        <ConfirmButton
          class="btn small danger"
          disabled={list.length === 0}
          title="Remove every dead letter of this action?"
          message={<p>Their bodies are gone for good.</p>}
          confirm="Remove all"
          onConfirm={() => void act(() => del<string>(`/action/${seg(actionId)}/dead_letters`))}
        >
          Remove all
        </ConfirmButton>
      </div>
      <p class="muted small">Deliveries that failed for good (every attempt used, or refused outright). The newest {AMOUNT} per page.</p>
      <ErrorText error={letters.error ?? error} />
      <p role="status" class="muted">{status}</p>
      {letters.data && list.length === 0 && <p class="muted">None{page > 1 ? " on this page" : ""}.</p>}
      <ul class="letter-list">
        {list.map((d) => {
          const body = typeof d.body === "string" ? d.body : JSON.stringify(d.body, null, 2);
          return (
            <li key={d.id} class="letter">
              <div class="letter-head">
                <strong>{new Date(d.failed_at).toLocaleString()}</strong>
                <span class="pill">{d.status === null ? "no response" : `HTTP ${d.status}`}</span>
                <span class="muted small">
                  {d.attempts} attempt{d.attempts === 1 ? "" : "s"} since {new Date(d.first_attempt_at).toLocaleString()}
                </span>
              </div>
              <p class="error">{d.error}</p>
              <p class="mono small letter-url">{d.url}</p>
              {d.device && (
                <p class="small">
                  Device: <a href={`#/devices/${d.device}`}>{d.device}</a>
                </p>
              )}
              <details>
                <summary>Body</summary>
                <pre>{body}</pre>
              </details>
              <div class="toolbar">
                <CopyButton text={body} label={`the body of the dead letter of ${d.failed_at}`} />
                <button type="button" class="btn small danger" onClick={() => void act(() => del<string>(`/action/${seg(actionId)}/dead_letters/${seg(d.id)}`))} aria-label={`Remove the dead letter of ${new Date(d.failed_at).toLocaleString()}`}>
                  Remove
                </button>
              </div>
            </li>
          );
        })}
      </ul>
      {(page > 1 || list.length === AMOUNT) && (
        <nav class="toolbar" aria-label="Dead letter pages">
          <button type="button" class="btn small" disabled={page <= 1} onClick={() => setPage(page - 1)}>
            ← Newer
          </button>
          <span class="muted">Page {page}</span>
          <button type="button" class="btn small" disabled={list.length < AMOUNT} onClick={() => setPage(page + 1)}>
            Older →
          </button>
        </nav>
      )}
    </section>
  );
}
