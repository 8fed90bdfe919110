/**
 * A code editor (CodeMirror 6): syntax highlighting, line numbers, search, and the errors a
 * run reported marked on their lines. Pages import it lazily (`import("./code_editor.js")`
 * or through their own dynamic import), so its ~150 KB never weigh on the first screen.
 */
import { javascript } from "@codemirror/lang-javascript";
import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { json } from "@codemirror/lang-json";
import { lintGutter, setDiagnostics, type Diagnostic } from "@codemirror/lint";
import { EditorState } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { tags } from "@lezer/highlight";
import { basicSetup } from "codemirror";
import { useEffect, useLayoutEffect, useRef } from "preact/hooks";
import "../styles/code_editor.css";

export interface CodeError {
  /** 1-based line; 0 or absent when the error has no position. */
  line?: number;
  column?: number;
  message: string;
}

export interface CodeEditorProps {
  value: string;
  onChange: (value: string) => void;
  language?: "javascript" | "json";
  /** Accessible name of the editing area. */
  label: string;
  errors?: CodeError[];
  minHeight?: string;
}

const theme = EditorView.theme({
  "&": { backgroundColor: "var(--surface)", color: "var(--text)", border: "1px solid var(--border)", borderRadius: "var(--radius)" },
  ".cm-gutters": { backgroundColor: "var(--surface-2)", color: "var(--muted)", border: "none" },
  ".cm-activeLine, .cm-activeLineGutter": { backgroundColor: "color-mix(in srgb, var(--accent) 8%, transparent)" },
  ".cm-content": { fontFamily: "var(--mono)", caretColor: "var(--text)" },
  "&.cm-focused": { outline: "2px solid var(--accent)" },
});

/**
 * Syntax colours from CSS variables (styles/code_editor.css), so the light and dark themes each
 * get colours that keep 4.5:1 contrast on the editor's background; CodeMirror's default style
 * is made for a light background only and fails contrast in the dark theme.
 */
const highlight = HighlightStyle.define([
  { tag: tags.keyword, color: "var(--code-keyword)" },
  { tag: [tags.string, tags.special(tags.string)], color: "var(--code-string)" },
  { tag: tags.regexp, color: "var(--code-regexp)" },
  { tag: [tags.number, tags.bool, tags.null, tags.atom], color: "var(--code-number)" },
  { tag: tags.comment, color: "var(--code-comment)", fontStyle: "italic" },
  { tag: [tags.function(tags.variableName), tags.function(tags.propertyName)], color: "var(--code-function)" },
  { tag: [tags.typeName, tags.className, tags.namespace], color: "var(--code-type)" },
  { tag: tags.definition(tags.variableName), color: "var(--code-definition)" },
  { tag: tags.invalid, color: "var(--bad)" },
]);

export function CodeEditor(props: CodeEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | undefined>(undefined);
  const onChange = useRef(props.onChange);
  onChange.current = props.onChange;
  /** The text this editor last reported: the parent handing it back is not a change from outside. */
  const emitted = useRef(props.value);

  useEffect(() => {
    view.current = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: props.value,
        extensions: [
          basicSetup,
          props.language === "json" ? json() : javascript(),
          theme,
          syntaxHighlighting(highlight),
          lintGutter(), // a failing line gets a marker in the gutter, not only an underline
          // Long lines wrap: no sideways scrolling on a phone, and no scroll region without a focusable element in it.
          EditorView.lineWrapping,
          // tabindex: an editor of fixed height scrolls; axe counts only tabindex'd or native controls as the keyboard's way into it.
          EditorView.contentAttributes.of({ "aria-label": props.label, tabindex: "0" }),
          EditorView.updateListener.of((update) => {
            if (!update.docChanged) return;
            emitted.current = update.state.doc.toString();
            onChange.current(emitted.current);
          }),
        ],
      }),
    });
    return () => view.current?.destroy();
  }, []);

  // A value set from outside (a loaded parser, a reset) replaces the text; typing does not loop
  // back. A layout effect, so it runs in the same task as the render: a passive effect runs
  // after paint, when more typing may have changed the text, and would put the older value
  // back, whose echo would then undo the newer one, forever (the page hangs).
  useLayoutEffect(() => {
    const v = view.current;
    if (!v || props.value === emitted.current) return;
    emitted.current = props.value;
    if (v.state.doc.toString() !== props.value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: props.value } });
  }, [props.value]);

  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const doc = v.state.doc;
    const diagnostics: Diagnostic[] = (props.errors ?? []).map((e) => {
      const line = e.line && e.line >= 1 && e.line <= doc.lines ? doc.line(e.line) : doc.line(1);
      const from = Math.min(line.from + Math.max(0, (e.column ?? 1) - 1), line.to);
      return { from, to: line.to, severity: "error", message: e.message };
    });
    v.dispatch(setDiagnostics(v.state, diagnostics));
  }, [props.errors]);

  return <div ref={host} class="code-editor" style={{ minHeight: props.minHeight ?? "240px" }} />;
}
