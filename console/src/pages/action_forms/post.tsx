/** Action post: a webhook, retried on failure, then dead-lettered (listed on the action's page). */
import { KeyValues, type Pair } from "./key_values.js";
import { Placeholders } from "./placeholders.js";
import { text, type ActionForm } from "./types.js";

/** The API stores headers as an object; the form edits them as pairs (the API also takes TagoIO's pair list). */
function pairsOf(headers: unknown): Pair[] {
  if (Array.isArray(headers)) return headers.map((h: { key?: unknown; value?: unknown }) => ({ key: text(h?.key), value: text(h?.value) }));
  if (headers && typeof headers === "object") return Object.entries(headers).map(([key, value]) => ({ key, value: text(value) }));
  return [];
}

export const postAction: ActionForm = {
  type: "post",
  label: "Call a webhook (HTTP POST)",
  help: "POSTs the triggering records, the action, the device and the event as JSON to a URL; failures are retried, then kept as dead letters.",
  initial: () => ({ type: "post", url: "", headers: {} }),
  Form: ({ params, update }) => (
    <>
      <label>
        URL
        <input type="text" class="mono" inputMode="url" value={text(params.url)} placeholder="https://example.com/hook" onInput={(e) => update({ ...params, url: e.currentTarget.value })} />
      </label>
      {/* Pairs go as a list so that two rows with one name, or an empty one, reach the API as typed. */}
      <KeyValues legend="Headers" keyLabel="Header" pairs={pairsOf(params.headers)} onChange={(pairs) => update({ ...params, headers: pairs })} />
      <Placeholders />
    </>
  ),
};
