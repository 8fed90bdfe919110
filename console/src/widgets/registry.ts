/**
 * The widget types the console knows, by `type`. Each type is a folder here whose `index.ts`
 * default-exports its definition (options, editor, renderer); the registry finds them at build
 * time, so adding a type is adding a folder, and nothing else in the console names a type.
 * A stored widget of a type the registry lacks (made by TagoIO's own editor, or a newer Sluice)
 * is shown by the page as "not supported here", with its data untouched.
 */
/// <reference types="vite/client" />
import type { AnyWidgetType } from "./types.js";

const modules = import.meta.glob<{ default: AnyWidgetType }>("./*/index.ts", { eager: true });

const types = new Map<string, AnyWidgetType>();
for (const [file, module] of Object.entries(modules)) {
  const type = module.default;
  if (types.has(type.type)) throw new Error(`widget type ${type.type} is registered twice (${file})`);
  types.set(type.type, type);
}
const ordered = [...types.values()].sort((a, b) => a.order - b.order);

export function widgetType(type: string): AnyWidgetType | undefined {
  return types.get(type);
}

/** In menu order. */
export function widgetTypes(): readonly AnyWidgetType[] {
  return ordered;
}
