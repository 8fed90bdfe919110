import type { TagJson } from "../../../src/http/api_types.js";

/** Key/value rows, each removable, and a button to add one. `label` names the set ("Tags"). */
export function TagsEditor({ tags, onChange, label = "Tags" }: { tags: TagJson[]; onChange: (tags: TagJson[]) => void; label?: string }) {
  const set = (i: number, part: Partial<TagJson>) => onChange(tags.map((t, j) => (j === i ? { ...t, ...part } : t)));
  return (
    <fieldset class="tags-editor">
      <legend>{label}</legend>
      {tags.length === 0 && <p class="muted small">No tags.</p>}
      {tags.map((tag, i) => (
        <div class="tag-row" key={i}>
          <input aria-label={`Tag ${i + 1} key`} placeholder="key" value={tag.key} onInput={(e) => set(i, { key: e.currentTarget.value })} />
          <input aria-label={`Tag ${i + 1} value`} placeholder="value" value={tag.value} onInput={(e) => set(i, { value: e.currentTarget.value })} />
          <button type="button" class="btn small" aria-label={`Remove tag ${i + 1}${tag.key ? ` (${tag.key})` : ""}`} onClick={() => onChange(tags.filter((_, j) => j !== i))}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" class="btn small" onClick={() => onChange([...tags, { key: "", value: "" }])}>
        Add tag
      </button>
    </fieldset>
  );
}

/** Tags as the API takes them: rows without a key dropped. */
export function cleanTags(tags: TagJson[]): TagJson[] {
  return tags.map((t) => ({ key: t.key.trim(), value: t.value })).filter((t) => t.key !== "");
}
