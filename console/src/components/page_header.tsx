import type { ComponentChildren } from "preact";
import { useEffect } from "preact/hooks";

/** A page's title (also the document's) and its main buttons. */
export function PageHeader({ title, children }: { title: string; children?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · Sluice`;
  }, [title]);
  return (
    <header class="page-header">
      <h1>{title}</h1>
      <div class="page-actions">{children}</div>
    </header>
  );
}
