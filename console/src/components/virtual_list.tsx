/**
 * A list that renders only the rows in view (@tanstack/virtual-core), so a live view holding
 * 100 000 events or devices keeps a few dozen DOM nodes. Rows have one fixed height: nothing
 * reflows when rows arrive. With `follow`, the list stays pinned to its end while the reader is
 * there, and stays put (no jump) once they scroll up to read.
 */
import { elementScroll, observeElementOffset, observeElementRect, Virtualizer } from "@tanstack/virtual-core";
import type { ComponentChildren } from "preact";
import { useLayoutEffect, useMemo, useReducer, useRef } from "preact/hooks";

export interface VirtualListProps<T> {
  items: readonly T[];
  rowHeight: number;
  render: (item: T, index: number) => ComponentChildren;
  itemKey: (item: T, index: number) => string | number;
  /** Keep the newest (last) row in view while the reader is at the end. */
  follow?: boolean;
  /** Accessible name of the list. */
  label: string;
  class?: string;
  empty?: ComponentChildren;
}

export function VirtualList<T>(props: VirtualListProps<T>) {
  const scroller = useRef<HTMLDivElement>(null);
  const atEnd = useRef(true);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const virtualizer = useMemo(
    () =>
      new Virtualizer<HTMLDivElement, Element>({
        count: props.items.length,
        getScrollElement: () => scroller.current,
        estimateSize: () => props.rowHeight,
        scrollToFn: elementScroll,
        observeElementRect,
        observeElementOffset,
        overscan: 8,
        onChange: () => rerender(0),
      }),
    [],
  );
  virtualizer.setOptions({ ...virtualizer.options, count: props.items.length, estimateSize: () => props.rowHeight, getItemKey: (i) => props.itemKey(props.items[i]!, i) });

  useLayoutEffect(() => virtualizer._didMount(), []);
  useLayoutEffect(() => {
    virtualizer._willUpdate();
    const el = scroller.current;
    if (props.follow && el && atEnd.current && props.items.length > 0) el.scrollTop = el.scrollHeight;
  });

  const onScroll = () => {
    const el = scroller.current;
    if (el) atEnd.current = el.scrollHeight - el.scrollTop - el.clientHeight < props.rowHeight * 1.5;
  };

  return (
    <div ref={scroller} class={`vlist ${props.class ?? ""}`} onScroll={onScroll} role="list" aria-label={props.label} tabIndex={0}>
      {/* A list's children must be list items (axe aria-required-children), the "nothing yet" note too. */}
      {props.items.length === 0 && props.empty && <div role="listitem">{props.empty}</div>}
      <div style={{ height: `${virtualizer.getTotalSize()}px`, position: "relative" }}>
        {virtualizer.getVirtualItems().map((row) => (
          <div
            key={row.key as string | number}
            role="listitem"
            class="vlist-row"
            style={{ position: "absolute", top: 0, left: 0, right: 0, height: `${props.rowHeight}px`, transform: `translateY(${row.start}px)` }}
          >
            {props.render(props.items[row.index]!, row.index)}
          </div>
        ))}
      </div>
    </div>
  );
}
