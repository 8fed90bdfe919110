/**
 * The analysis's script: read back with `GET /analysis/:id/download`, edited in CodeMirror,
 * saved with `POST /analysis/:id/upload` (base64, as the SDK's uploadScript sends it).
 * Ctrl/Cmd+S saves.
 */
import { useEffect, useState } from "preact/hooks";
import type { AnalysisScriptJson } from "../../../../src/http/api_types.js";
import { dataUrlText, textToBase64 } from "../../api/base64.js";
import { ApiError, get, post, seg } from "../../api/client.js";
import { CodeEditor } from "../../components/code_editor.js";
import { ErrorText } from "../../components/error_text.js";
import type { AnalysisCardProps } from "../analysis.js";

/** A new analysis starts from the SDK's shape, logging what it is given. */
export const TEMPLATE = `const { Analysis } = require("@tago-io/sdk");

// context: token, analysis_id, environment ([{ key, value }]), log(...)
// scope: what the run was given (the records of a trigger, or the scope of a manual run)
async function main(context, scope) {
  context.log("Hello from the analysis", JSON.stringify(scope));
}

Analysis.use(main);
`;

export function ScriptCard({ analysis, reload }: AnalysisCardProps) {
  const [code, setCode] = useState<string | undefined>(undefined);
  /** The text as stored: what "unsaved" compares with ("" when nothing was uploaded). */
  const [saved, setSaved] = useState("");
  const [fileName, setFileName] = useState(analysis.file_name ?? "script.js");
  const [loadError, setLoadError] = useState<unknown>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [savedAt, setSavedAt] = useState<Date | undefined>(undefined);

  useEffect(() => {
    let live = true;
    get<AnalysisScriptJson>(`/analysis/${seg(analysis.id)}/download`).then(
      (script) => {
        if (!live) return;
        const text = dataUrlText(script.url);
        setCode(text);
        setSaved(text);
        setFileName(script.file_name);
      },
      (err: unknown) => {
        if (!live) return;
        // No script yet: start from the template, unsaved.
        if (err instanceof ApiError && err.status === 404) setCode(TEMPLATE);
        else setLoadError(err);
      },
    );
    return () => {
      live = false;
    };
  }, [analysis.id]);

  const dirty = code !== undefined && code !== saved;
  const save = async () => {
    if (code === undefined || busy) return;
    setBusy(true);
    setError(undefined);
    try {
      await post(`/analysis/${seg(analysis.id)}/upload`, { file: textToBase64(code), file_name: fileName, language: "node" });
      setSaved(code);
      setSavedAt(new Date());
      reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "s") {
      e.preventDefault();
      void save();
    }
  };

  return (
    <section class="card script-card" aria-labelledby="script-title" onKeyDown={onKeyDown}>
      <div class="card-head">
        <h2 id="script-title">Script</h2>
        <span class="muted small" aria-live="polite">
          {dirty ? "Unsaved changes" : savedAt ? `Saved, version ${analysis.version}` : analysis.version > 0 ? `Version ${analysis.version}` : "Not uploaded yet"}
        </span>
        <div class="actions">
          <button type="button" class="btn primary" onClick={() => void save()} disabled={busy || code === undefined || (!dirty && analysis.version > 0)} title="Ctrl+S">
            {busy ? "Saving…" : "Save script"}
          </button>
        </div>
      </div>
      {analysis.run_on === "external" && (
        <p class="hint">
          This analysis runs on your machine (the SDK listening with its token): Sluice keeps this script but does not run it.
        </p>
      )}
      <label class="file-name">
        File name
        <input value={fileName} maxLength={200} onInput={(e) => setFileName(e.currentTarget.value)} aria-describedby="file-name-hint" />
        <span id="file-name-hint" class="hint">
          .mjs for an ES module, .cjs or .js for CommonJS (a .js file with import/export is taken as a module).
        </span>
      </label>
      <ErrorText error={loadError ?? error} />
      {code === undefined ? (
        !loadError && <p class="muted editor-placeholder" aria-busy="true">Loading the script…</p>
      ) : (
        <CodeEditor value={code} onChange={setCode} language="javascript" label="Analysis script" minHeight="0" />
      )}
    </section>
  );
}
