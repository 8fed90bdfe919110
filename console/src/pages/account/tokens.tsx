/**
 * Account tokens (`/profile/current/token`): listed masked; a new one is shown once, with its
 * expiry and a copy button; revoking asks first. Analysis tokens are listed but belong to
 * their analysis (the API refuses to revoke them here: regenerate them there).
 */
import { useState } from "preact/hooks";
import type { AccountTokenCreatedJson, AccountTokenJson } from "../../../../src/http/api_types.js";
import { del, get, post, seg } from "../../api/client.js";
import { InlineConfirm } from "../../components/inline_confirm.js";
import { CopyButton } from "../../components/copy_button.js";
import { ErrorText } from "../../components/error_text.js";
import { useApi } from "../../hooks/use_api.js";
import { TableScroll } from "../../components/table_scroll.js";

const EXPIRIES = [
  { value: "never", label: "Never" },
  { value: "1 day", label: "In 1 day" },
  { value: "7 days", label: "In 7 days" },
  { value: "30 days", label: "In 30 days" },
  { value: "90 days", label: "In 90 days" },
  { value: "1 year", label: "In 1 year" },
];

const when = (iso: string | null) => (iso === null ? "—" : iso === "never" ? "Never" : new Date(iso).toLocaleString());

export default function TokensTab() {
  const list = useApi((signal) => get<AccountTokenJson[]>("/profile/current/token", { amount: 1000, orderBy: "created_at,desc" }, signal), []);
  const [name, setName] = useState("");
  const [expiry, setExpiry] = useState("never");
  const [created, setCreated] = useState<AccountTokenCreatedJson | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      setCreated(await post<AccountTokenCreatedJson>("/profile/current/token", { name, expire_time: expiry }));
      setName("");
      list.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const revoke = async (t: AccountTokenJson) => {
    await del(`/profile/current/token/${seg(t.id)}`);
    list.reload();
  };

  return (
    <div class="tokens-tab">
      <form class="card" onSubmit={create} aria-labelledby="new-token-title">
        <h2 id="new-token-title">New account token</h2>
        <p class="hint">An account token has the whole account's rights: for scripts, the SDK and tools. It is shown once.</p>
        <div class="form-row">
          <label>
            Name
            <input required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="backup script" />
          </label>
          <label>
            Expires
            <select value={expiry} onChange={(e) => setExpiry(e.currentTarget.value)}>
              {EXPIRIES.map((x) => (
                <option key={x.value} value={x.value}>
                  {x.label}
                </option>
              ))}
            </select>
          </label>
        </div>
        <ErrorText error={error} />
        <div class="form-actions">
          <button type="submit" class="btn primary" disabled={busy}>
            {busy ? "Creating…" : "Create token"}
          </button>
        </div>
        {created && (
          <div class="shown-once" role="status">
            <p>
              <strong>Token “{created.name}”</strong>: copy it now, it will not be shown again.
            </p>
            <p class="secret-line">
              <code class="mono new-token">{created.token}</code>
              <CopyButton text={created.token} label={`token ${created.name}`} />
            </p>
            <p class="muted small">Expires: {when(created.expire_date)}</p>
            <button type="button" class="btn small" onClick={() => setCreated(undefined)}>
              Done
            </button>
          </div>
        )}
      </form>

      <section class="card" aria-labelledby="tokens-title">
        <h2 id="tokens-title">Tokens</h2>
        <ErrorText error={list.error} />
        {list.data && (
          <TableScroll label="Account tokens">
            <table class="grid">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Token</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last used</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.data.map((t) => (
                  <tr key={t.id}>
                    <td class="wrap">
                      {t.name}
                      {t.type === "analysis" && <span class="pill token-type">analysis</span>}
                    </td>
                    <td class="mono">{t.token}</td>
                    <td>{when(t.expire_time)}</td>
                    <td>{when(t.created_at)}</td>
                    <td>{t.last_authorization ? when(t.last_authorization) : "Never"}</td>
                    <td>
                      {t.type === "analysis" && t.ref_id ? (
                        <a href={`#/analyses/${t.ref_id}`} class="small">
                          Regenerate on its analysis
                        </a>
                      ) : (
                        <InlineConfirm small label="Revoke" question="Revoke it now?" ariaLabel={`Revoke token “${t.name}”`} onConfirm={() => revoke(t)} />
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </section>
    </div>
  );
}
