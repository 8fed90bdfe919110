/**
 * A relay: create (`#/relays/new`) or edit it, beside its live connection state; delete it.
 * Saving sends only what the API should change: credentials only when typed, replaced or
 * removed, never read back.
 */
import { useEffect, useState } from "preact/hooks";
import type { RelayJson } from "../../../src/http/api_types.js";
import { del, get, post, put, seg } from "../api/client.js";
import { InlineConfirm } from "../components/inline_confirm.js";
import { ErrorText } from "../components/error_text.js";
import { PageHeader } from "../components/page_header.js";
import { useApi } from "../hooks/use_api.js";
import { navigate } from "../router.js";
import type { PageProps } from "../routes.js";
import { bodyOf, draftOf, emptyDraft, type Draft } from "./relay/draft.js";
import { RelayForm } from "./relay/relay_form.js";
import { RelayStatus } from "./relay/relay_status.js";
import "../styles/panels.css";
import "../styles/relays.css";

export default function RelayPage({ params }: PageProps) {
  const id = params.id!;
  const creating = id === "new";
  const relay = useApi((signal) => (creating ? Promise.resolve(undefined) : get<RelayJson>(`/relay/${seg(id)}`, undefined, signal)), [id]);
  const [draft, setDraft] = useState<Draft | undefined>(creating ? emptyDraft() : undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    if (creating) setDraft(emptyDraft());
    else if (relay.data?.id === id) setDraft(draftOf(relay.data));
  }, [id, relay.data]);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!draft) return;
    setBusy(true);
    setError(undefined);
    setSaved(false);
    try {
      if (creating) {
        const created = await post<{ relay: string }>("/relay", bodyOf(draft, true));
        navigate(`/relays/${created.relay}`, { replace: true });
      } else {
        await put(`/relay/${seg(id)}`, bodyOf(draft, false));
        setSaved(true);
        relay.reload();
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    await del(`/relay/${seg(id)}`);
    navigate("/relays", { replace: true });
  };

  const title = creating ? "New relay" : (relay.data?.name ?? "Relay");
  return (
    <section class="relay-page">
      <PageHeader title={title}>
        <a href="#/relays" class="btn">
          All relays
        </a>
        {!creating && <InlineConfirm label="Delete" question="Delete this relay and its queued downlink?" onConfirm={remove} disabled={!relay.data} />}
      </PageHeader>
      <ErrorText error={relay.error} />
      {draft && (
        <div class="panel-grid">
          <form class="card" onSubmit={submit} aria-label={creating ? "New relay" : "Relay settings"} onInput={() => setSaved(false)}>
            <RelayForm draft={draft} onChange={setDraft} stored={relay.data} />
            <ErrorText error={error} />
            <div class="form-actions">
              <button type="submit" class="btn primary" disabled={busy}>
                {busy ? "Saving…" : creating ? "Create relay" : "Save and reconnect"}
              </button>
              <span class="ok small" role="status">
                {saved ? "Saved: the relay reconnects with these settings." : ""}
              </span>
            </div>
          </form>
          {!creating && <RelayStatus relayId={id} />}
        </div>
      )}
    </section>
  );
}
