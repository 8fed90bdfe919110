/**
 * One widget on the grid: its title and its content box, measured (ResizeObserver) so the
 * renderer draws for its real size. A type the registry lacks shows "not supported here" and
 * its stored data stays untouched; a renderer that throws shows its error in its own box and
 * leaves the rest of the dashboard alone.
 */
import { Component, type ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { WidgetJson } from "../../../src/http/api_types.js";
import { widgetType } from "../widgets/registry.js";
import type { WidgetContext } from "../widgets/types.js";

export function WidgetBody({ widget, ctx }: { widget: WidgetJson; ctx: WidgetContext }) {
  const box = useRef<HTMLDivElement>(null);
  const [size, setSize] = useState({ width: 0, height: 0 });
  const type = widgetType(widget.type);

  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const observer = new ResizeObserver(() => {
      const width = Math.floor(el.clientWidth);
      const height = Math.floor(el.clientHeight);
      setSize((s) => (s.width === width && s.height === height ? s : { width, height }));
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  // A type this console cannot draw has nothing to wait for.
  useEffect(() => {
    if (!type) ctx.ready(widget.id);
  }, [type, ctx, widget.id]);

  let content: ComponentChildren = null;
  if (!type) {
    content = (
      <p class="widget-unsupported">
        Widget type <code>{widget.type}</code> is not supported here.
      </p>
    );
  } else if (size.width > 0 && size.height > 0) {
    const options: unknown = type.parse(widget.display);
    content = (
      <RenderGuard key={`${widget.id}:${widget.updated_at}`} onError={() => ctx.ready(widget.id)}>
        <type.Renderer widget={widget} options={options} ctx={ctx} width={size.width} height={size.height} />
      </RenderGuard>
    );
  }
  return (
    <div class="widget-body" ref={box}>
      {content}
    </div>
  );
}

class RenderGuard extends Component<{ children: ComponentChildren; onError(): void }, { error: string | undefined }> {
  override state = { error: undefined as string | undefined };
  override componentDidCatch(error: unknown): void {
    this.setState({ error: error instanceof Error ? error.message : String(error) });
    this.props.onError();
  }
  override render() {
    if (this.state.error !== undefined) return <p class="error-text widget-unsupported">This widget failed to draw: {this.state.error}</p>;
    return this.props.children;
  }
}
