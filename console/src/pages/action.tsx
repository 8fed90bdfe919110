/**
 * One action: create (`#/actions/new`) or edit, with a form for its trigger kind and one for its
 * action type (pages/action_forms/, a registry), activate or deactivate, delete; a webhook's
 * dead letters. The API validates: its message is shown as it words it.
 */
import { useEffect, useState } from "preact/hooks";
import type { ActionCreatedJson, ActionInputJson, ActionJson } from "../../../src/http/api_types.js";
import { del, get, post, put, seg } from "../api/client.js";
import { ConfirmButton } from "../components/confirm_button.js";
import { ErrorText } from "../components/error_text.js";
import { PageHeader } from "../components/page_header.js";
import { useApi } from "../hooks/use_api.js";
import type { PageProps } from "../routes.js";
import { navigate } from "../router.js";
import "../styles/actions.css";
import { DeadLetters } from "./action/dead_letters.js";
import { ACTION_FORMS, actionForm, TRIGGER_FORMS, triggerForm } from "./action_forms/index.js";
import { KeyValues } from "./action_forms/key_values.js";
import type { ActionDraft } from "./action_forms/types.js";

const NEW = "new";

function blankDraft(): ActionDraft {
  return {
    name: "", active: true, description: "", tags: [], type: "mqtt_topic", trigger: TRIGGER_FORMS[0]!.initial(),
    action: ACTION_FORMS[0]!.initial(), trigger_when_unlock: false,
  };
}

function draftOf(a: ActionJson): ActionDraft {
  return {
    name: a.name, active: a.active, description: a.description ?? "", tags: a.tags, type: a.type, trigger: a.trigger, action: a.action,
    trigger_when_unlock: a.trigger_when_unlock,
  };
}

function inputOf(d: ActionDraft): ActionInputJson {
  return {
    name: d.name, active: d.active, description: d.description.trim() === "" ? null : d.description, tags: d.tags, type: d.type,
    trigger: d.trigger, action: d.action, trigger_when_unlock: d.trigger_when_unlock,
  };
}

export default function ActionPage({ params }: PageProps) {
  const id = params.id!;
  const creating = id === NEW;
  const loaded = useApi((signal) => (creating ? Promise.resolve(undefined) : get<ActionJson>(`/action/${seg(id)}`, undefined, signal)), [id]);
  const [draft, setDraft] = useState<ActionDraft | undefined>(creating ? blankDraft() : undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [status, setStatus] = useState("");
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (creating) setDraft(blankDraft());
    else if (loaded.data) setDraft(draftOf(loaded.data));
  }, [id, loaded.data]);
  const update = (patch: Partial<ActionDraft>) => setDraft((d) => (d ? { ...d, ...patch } : d));

  const save = async (e: Event) => {
    e.preventDefault();
    if (!draft) return;
    setBusy(true);
    setError(undefined);
    setStatus("");
    try {
      if (creating) {
        const created = await post<ActionCreatedJson>("/action", inputOf(draft));
        navigate(`/actions/${created.action}`, { replace: true });
      } else {
        setStatus(await put<string>(`/action/${seg(id)}`, inputOf(draft)));
        loaded.reload();
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const setActive = async (active: boolean) => {
    setError(undefined);
    try {
      setStatus(await put<string>(`/action/${seg(id)}`, { active } satisfies ActionInputJson));
      update({ active });
      loaded.reload();
    } catch (err) {
      setError(err);
    }
  };
  const remove = async () => {
    try {
      await del<string>(`/action/${seg(id)}`);
      navigate("/actions", { replace: true });
    } catch (err) {
      setError(err);
    }
  };

  const title = creating ? "New action" : (loaded.data?.name ?? "Action");
  const trigger = draft ? triggerForm(draft.type) : undefined;
  const doing = draft ? actionForm(draft.action.type) : undefined;
  return (
    <section class="action-page">
      <PageHeader title={title}>
        <a href="#/actions" class="btn">All actions</a>
        {!creating && loaded.data && (
          <>
            <button type="button" class="btn" onClick={() => void setActive(!loaded.data!.active)}>
              {loaded.data.active ? "Deactivate" : "Activate"}
            </button>
            <ConfirmButton title={`Delete the action “${loaded.data.name}”?`} message={<p>It stops running at once. This cannot be undone.</p>} confirm="Delete" onConfirm={() => void remove()}>
              Delete
            </ConfirmButton>
          </>
        )}
      </PageHeader>
      <ErrorText error={loaded.error} />
      {loaded.data && (
        <p class="muted small">
          {loaded.data.active ? <span class="pill is-on">active</span> : <span class="pill">inactive</span>}
          {loaded.data.lock && <span class="pill is-locked">locked</span>} Last run: {loaded.data.last_triggered === "never" ? "never" : new Date(loaded.data.last_triggered).toLocaleString()} · id{" "}
          <span class="mono">{loaded.data.id}</span>
        </p>
      )}
      {draft && (
        <form class="action-form" onSubmit={save} aria-label={creating ? "New action" : "Edit action"} noValidate>
          <section class="card">
            <h2>About</h2>
            <div class="form-row">
              <label>
                Name
                <input type="text" value={draft.name} onInput={(e) => update({ name: e.currentTarget.value })} />
              </label>
              <label class="inline">
                <input type="checkbox" checked={draft.active} onChange={(e) => update({ active: e.currentTarget.checked })} />
                Active
              </label>
            </div>
            <label>
              Description
              <input type="text" value={draft.description} onInput={(e) => update({ description: e.currentTarget.value })} />
            </label>
            <KeyValues legend="Tags" keyLabel="Tag key" valueLabel="Tag value" pairs={draft.tags} onChange={(tags) => update({ tags })} />
          </section>

          <section class="card">
            <h2>When</h2>
            <label>
              Trigger
              <select
                value={draft.type}
                onChange={(e) => {
                  const next = triggerForm(e.currentTarget.value);
                  if (next) update({ type: next.kind, trigger: next.initial(), trigger_when_unlock: false });
                }}
              >
                {TRIGGER_FORMS.map((f) => <option key={f.kind} value={f.kind}>{f.label}</option>)}
                {!trigger && <option value={draft.type}>{draft.type}</option>}
              </select>
            </label>
            {trigger ? (
              <>
                <p class="muted small">{trigger.help}</p>
                <trigger.Form draft={draft} update={update} />
              </>
            ) : (
              <Unknown what="trigger kind" value={draft.trigger} />
            )}
          </section>

          <section class="card">
            <h2>Do</h2>
            <label>
              Action
              <select
                value={draft.action.type}
                onChange={(e) => {
                  const next = actionForm(e.currentTarget.value);
                  if (next) update({ action: next.initial() });
                }}
              >
                {ACTION_FORMS.map((f) => <option key={f.type} value={f.type}>{f.label}</option>)}
                {!doing && <option value={draft.action.type}>{draft.action.type}</option>}
              </select>
            </label>
            {doing ? (
              <>
                <p class="muted small">{doing.help}</p>
                <doing.Form params={draft.action} update={(action) => update({ action })} />
              </>
            ) : (
              <Unknown what="action type" value={draft.action} />
            )}
          </section>

          <ErrorText error={error} />
          <div class="toolbar">
            <button type="submit" class="btn primary" disabled={busy}>
              {busy ? "Saving…" : creating ? "Create action" : "Save"}
            </button>
            <span role="status" class="muted">{status}</span>
          </div>
        </form>
      )}
      {!creating && loaded.data?.action.type === "post" && <DeadLetters actionId={id} />}
    </section>
  );
}

/** A kind or type this console has no form for (a newer server): shown as it is and saved unchanged. */
function Unknown({ what, value }: { what: string; value: unknown }) {
  return (
    <>
      <p class="warn">This console has no form for this {what}; it is kept as it is.</p>
      <pre>{JSON.stringify(value, null, 2)}</pre>
    </>
  );
}
