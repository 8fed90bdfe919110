/**
 * A wide table's box: it scrolls sideways on a phone, and, being focusable and named, can be
 * scrolled from the keyboard too (axe: scrollable-region-focusable).
 */
import type { ComponentChildren } from "preact";

export function TableScroll({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-scroll" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}
