/**
 * The account's dashboards: open, create, duplicate, delete, and export/import as JSON files
 * (the `sluice-dashboard` format of `GET /dashboard/:id/export`, docs/dashboards.md).
 */
import { useState } from "preact/hooks";
import type { DashboardExportJson, DashboardJson } from "../../../src/http/api_types.js";
import { del, get, post, seg } from "../api/client.js";
import { ConfirmButton } from "../components/confirm_button.js";
import { ErrorText } from "../components/error_text.js";
import { PageHeader } from "../components/page_header.js";
import { TableScroll } from "../components/table_scroll.js";
import { useApi } from "../hooks/use_api.js";
import { navigate } from "../router.js";
import "../styles/panels.css";
import "../styles/dashboard.css";

type Row = Pick<DashboardJson, "id" | "label" | "type" | "tags" | "updated_at">;
const PAGE = 200;
/** An import file is read in the browser first; the API bounds it again. */
const MAX_IMPORT_BYTES = 16 * 1024 * 1024;

export default function Dashboards() {
  const list = useApi((signal) => get<Row[]>("/dashboard", { fields: "id,label,type,tags,updated_at", amount: PAGE, orderBy: "label,asc" }, signal), []);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [label, setLabel] = useState("");

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

  const create = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const made = await post<{ dashboard: string }>("/dashboard", { label: label.trim() });
      navigate(`/dashboards/${made.dashboard}`);
    });
  };

  const exportFile = (row: Row) =>
    run(async () => {
      const file = await get<DashboardExportJson>(`/dashboard/${seg(row.id)}/export`);
      const blob = new Blob([JSON.stringify(file, null, 2)], { type: "application/json" });
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = `${row.label.replace(/[^\w.-]+/g, "_").slice(0, 80) || "dashboard"}.sluice-dashboard.json`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    });

  const importFile = (input: HTMLInputElement) => {
    const file = input.files?.[0];
    input.value = "";
    if (!file) return;
    void run(async () => {
      if (file.size > MAX_IMPORT_BYTES) throw new Error(`${file.name} is larger than ${MAX_IMPORT_BYTES / 1024 / 1024} MiB`);
      let body: unknown;
      try {
        body = JSON.parse(await file.text());
      } catch {
        throw new Error(`${file.name} is not JSON: choose a file exported from a Sluice dashboard`);
      }
      const made = await post<{ dashboard: string; widgets: number }>("/dashboard/import", body);
      navigate(`/dashboards/${made.dashboard}`);
    });
  };

  const rows = list.data;
  return (
    <section class="dashboards-page">
      <PageHeader title="Dashboards">
        <label class="btn">
          Import JSON
          <input type="file" accept="application/json,.json" class="visually-hidden" disabled={busy} onChange={(e) => importFile(e.currentTarget)} />
        </label>
      </PageHeader>
      <form class="form-row card dash-create" aria-label="New dashboard" onSubmit={create}>
        <label>
          New dashboard name
          <input required maxLength={200} value={label} onInput={(e) => setLabel(e.currentTarget.value)} />
        </label>
        <div class="form-actions">
          <button type="submit" class="btn primary" disabled={busy || label.trim() === ""}>
            Create dashboard
          </button>
        </div>
      </form>
      <ErrorText error={error ?? list.error} />
      {!rows ? (
        !list.error && <p class="muted" aria-busy="true">Loading…</p>
      ) : rows.length === 0 ? (
        <p class="muted">No dashboard yet.</p>
      ) : (
        <TableScroll label="Dashboards">
          <table class="grid">
            <caption class="visually-hidden">Dashboards</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Tags</th>
                <th scope="col">Updated</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.id}>
                  <td>
                    <a href={`#/dashboards/${row.id}`}>{row.label}</a>
                  </td>
                  <td>{row.type === "blueprint" ? "Blueprint" : "Dashboard"}</td>
                  <td class="wrap">{(row.tags ?? []).map((t) => `${t.key}=${t.value}`).join(", ") || <span class="muted">—</span>}</td>
                  <td>{row.updated_at ? new Date(row.updated_at).toLocaleString() : ""}</td>
                  <td class="row-actions">
                    <button type="button" class="btn small" disabled={busy} aria-label={`Duplicate ${row.label}`} onClick={() => void run(async () => {
                      await post(`/dashboard/${seg(row.id)}/duplicate`, {});
                      list.reload();
                    })}>
                      Duplicate
                    </button>
                    <button type="button" class="btn small" disabled={busy} aria-label={`Export ${row.label}`} onClick={() => void exportFile(row)}>
                      Export
                    </button>
                    <ConfirmButton
                      class="btn small danger"
                      label={`Delete ${row.label}`}
                      title={`Delete ${row.label}?`}
                      message="Its widgets and its public link go with it. Stored data stays with the devices."
                      confirm="Delete"
                      disabled={busy}
                      onConfirm={() => void run(async () => {
                        await del(`/dashboard/${seg(row.id)}`);
                        list.reload();
                      })}
                    >
                      Delete
                    </ConfirmButton>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      {rows && rows.length >= PAGE && <p class="hint">The first {PAGE} dashboards by name are listed.</p>}
    </section>
  );
}
