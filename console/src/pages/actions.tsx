/**
 * The account's actions (`GET /action`, 50 a page, by name): what triggers each, what it does,
 * when it last ran; search by name, activate or deactivate in place, delete.
 */
import { useEffect, useState } from "preact/hooks";
import type { ActionInputJson, ActionJson } from "../../../src/http/api_types.js";
import { del, get, put, seg } from "../api/client.js";
import { ConfirmButton } from "../components/confirm_button.js";
import { ErrorText } from "../components/error_text.js";
import { PageHeader } from "../components/page_header.js";
import { useApi } from "../hooks/use_api.js";
import "../styles/actions.css";
import { actionForm, triggerForm } from "./action_forms/index.js";

const AMOUNT = 50;

export default function ActionsPage() {
  const [search, setSearch] = useState("");
  const [term, setTerm] = useState("");
  const [page, setPage] = useState(1);
  const [error, setError] = useState<unknown>(undefined);
  const [status, setStatus] = useState("");
  // A switched checkbox shows its new state at once, until the reloaded list confirms it.
  const [switching, setSwitching] = useState<Record<string, boolean>>({});
  useEffect(() => {
    const timer = setTimeout(() => {
      setTerm(search.trim().replace(/\*/g, ""));
      setPage(1);
    }, 250);
    return () => clearTimeout(timer);
  }, [search]);
  const actions = useApi(
    (signal) => get<ActionJson[]>("/action", { page, amount: AMOUNT, orderBy: "name,asc", ...(term !== "" && { filter: { name: `*${term}*` } }) }, signal),
    [term, page],
  );
  const act = async (work: () => Promise<string>) => {
    setError(undefined);
    try {
      setStatus(await work());
      actions.reload();
    } catch (err) {
      setError(err);
      setSwitching({});
    }
  };
  useEffect(() => setSwitching({}), [actions.data]);
  const list = actions.data ?? [];

  return (
    <section class="actions-page">
      <PageHeader title="Actions">
        <a href="#/actions/new" class="btn primary">
          New action
        </a>
      </PageHeader>
      <div class="toolbar">
        <label class="inline">
          Search
          <input type="search" value={search} placeholder="name" onInput={(e) => setSearch(e.currentTarget.value)} />
        </label>
        <span role="status" class="muted">{status}</span>
      </div>
      <ErrorText error={actions.error ?? error} />
      {actions.data && list.length === 0 && (
        <p class="muted">
          {term ? "No action has such a name." : "No actions yet. An action stores a device's data, publishes, notifies, mails or calls a webhook when something happens."}
        </p>
      )}
      {list.length > 0 && (
        <div class="table-scroll" tabIndex={0} role="region" aria-label="Actions">
          <table class="grid actions-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Active</th>
                <th>When</th>
                <th>Does</th>
                <th>Last run</th>
                <th><span class="visually-hidden">Delete</span></th>
              </tr>
            </thead>
            <tbody>
              {list.map((a) => (
                <tr key={a.id}>
                  <td>
                    <a href={`#/actions/${a.id}`}>{a.name}</a>
                    {a.lock && <span class="pill is-locked"> locked</span>}
                  </td>
                  <td>
                    <input
                      type="checkbox"
                      checked={switching[a.id] ?? a.active}
                      aria-label={`${a.name} is active`}
                      onChange={(e) => {
                        const active = e.currentTarget.checked;
                        setSwitching((s) => ({ ...s, [a.id]: active }));
                        void act(() => put<string>(`/action/${seg(a.id)}`, { active } satisfies ActionInputJson));
                      }}
                    />
                  </td>
                  <td>{triggerForm(a.type)?.label ?? a.type}</td>
                  <td>{actionForm(a.action.type)?.label ?? a.action.type}</td>
                  <td title={a.last_triggered}>{a.last_triggered === "never" ? <span class="muted">never</span> : new Date(a.last_triggered).toLocaleString()}</td>
                  <td>
                    <ConfirmButton
                      class="btn small danger"
                      label={`Delete ${a.name}`}
                      title={`Delete the action “${a.name}”?`}
                      message={<p>It stops running at once. This cannot be undone.</p>}
                      confirm="Delete"
                      onConfirm={() => void act(() => del<string>(`/action/${seg(a.id)}`))}
                    >
                      Delete
                    </ConfirmButton>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {(page > 1 || list.length === AMOUNT) && (
        <nav class="toolbar pager" aria-label="Pages">
          <button type="button" class="btn" disabled={page <= 1} onClick={() => setPage(page - 1)}>
            ← Previous
          </button>
          <span class="muted">Page {page}</span>
          <button type="button" class="btn" disabled={list.length < AMOUNT} onClick={() => setPage(page + 1)}>
            Next →
          </button>
        </nav>
      )}
    </section>
  );
}
