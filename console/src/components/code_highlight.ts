/**
 * Syntax colours for the code editor that read well on both themes: CodeMirror's default
 * style is made for a white page (its dark-theme contrast fails axe). Each token class takes
 * its colour from a CSS variable (styles/code_highlight.css), set per theme.
 */
import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { tags as t } from "@lezer/highlight";
import "../styles/code_highlight.css";

const style = HighlightStyle.define([
  { tag: [t.keyword, t.modifier, t.controlKeyword, t.operatorKeyword], color: "var(--code-keyword)" },
  { tag: [t.string, t.special(t.string), t.regexp, t.escape], color: "var(--code-string)" },
  { tag: [t.number, t.bool, t.null, t.atom, t.literal], color: "var(--code-number)" },
  { tag: [t.comment, t.lineComment, t.blockComment], color: "var(--code-comment)", fontStyle: "italic" },
  { tag: [t.definition(t.variableName), t.function(t.variableName), t.definition(t.propertyName)], color: "var(--code-definition)" },
  { tag: [t.propertyName], color: "var(--code-property)" },
  { tag: [t.typeName, t.className, t.namespace], color: "var(--code-type)" },
  { tag: t.invalid, color: "var(--bad)" },
]);

export const codeHighlighting = syntaxHighlighting(style);
