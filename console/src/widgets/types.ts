/**
 * What a widget type is, for the dashboard pages: the registry (registry.ts) maps a widget's
 * `type` (TagoIO's names: `line`, `dial`, `push_button`...) to one of these. Each type lives in
 * its own folder with three parts, the way the server's pipeline registers action types:
 * - `options.ts`: its display options (what it keeps in the widget's `display`), their
 *   defaults, and `parse`, which reads a stored `display` defensively (anything may be in it:
 *   it came from the API or an imported file);
 * - `editor.tsx`: the form that edits those options (data sources are edited by the page's
 *   shared sources form unless the type says it has none);
 * - `renderer.tsx`: what the widget shows, given its size in pixels.
 */
import type { ReadonlySignal } from "@preact/signals";
import type { ComponentType } from "preact";
import type { DataRecordInputJson, DataRecordJson, WidgetJson, WidgetSourceJson, WidgetSourceResultJson } from "../../../src/http/api_types.js";

/** How many data sources a type reads: none (note, image), one device (controls), or many (charts). */
export type SourcesArity = "none" | "one" | "many";

export interface WidgetType<O> {
  /** The widget's `type` as stored (TagoIO's name where TagoIO has the widget). */
  type: string;
  /** Place in the "add widget" menu (lower first). */
  order: number;
  /** Shown in the "add widget" menu and the editor's title. */
  label: string;
  /** A short line under the label in the "add widget" menu. */
  description: string;
  sources: SourcesArity;
  /** Grid cells a new widget takes (the grid is 12 columns wide, rows of `ROW_HEIGHT` px). */
  size: { width: number; height: number };
  /** Options of a new widget. */
  defaults(): O;
  /** A stored `display`, read with defaults for whatever is missing or of the wrong kind. */
  parse(display: unknown): O;
  Editor: ComponentType<EditorProps<O>>;
  Renderer: ComponentType<RendererProps<O>>;
}

/** A registry entry with its options type erased (each entry is used with its own parse). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry holds types of different option shapes; each is only ever given what its own `parse` returned
export type AnyWidgetType = WidgetType<any>;

export interface EditorProps<O> {
  options: O;
  onChange(options: O): void;
  /** The widget's data sources as the form holds them (to offer their variables in pickers). */
  sources: WidgetSourceJson[];
}

export interface RendererProps<O> {
  widget: WidgetJson;
  options: O;
  ctx: WidgetContext;
  /** The widget's content box in CSS pixels (without its title bar); charts ask for this many buckets. */
  width: number;
  height: number;
}

/** A time range a viewer picked for the whole dashboard; absent: each widget's own. */
export interface TimeRange {
  start: Date;
  end: Date | "now";
}

/**
 * Where a widget's data and actions go. The console's dashboard page and the public share view
 * each provide one: the first reads `/data/:dashboard/:widget` with the session, the second
 * `/share/:key/data/:widget` with no session and no writes.
 */
export interface WidgetContext {
  dashboardId: string;
  /** True on a public link or a report: controls and forms show, disabled. */
  readOnly: boolean;
  /** Loads a widget's data with the query given (bracket notation, as the API reads it). */
  loadData(widgetId: string, query: Record<string, unknown>, signal: AbortSignal): Promise<WidgetSourceResultJson[]>;
  /** Records just stored that this widget shows (the dashboard's live channel, one SSE stream per page). */
  onLive(widgetId: string, listener: (records: DataRecordJson[]) => void): () => void;
  /** Called when the live channel dropped records: the widget reloads its data. */
  onResync(listener: () => void): () => void;
  /** Device id → name of the devices the dashboard reads (empty until known): read it in render, a change redraws. */
  deviceNames: ReadonlySignal<ReadonlyMap<string, string>>;
  /** Blueprint picks, slot id → device id; a widget's data follows them. */
  blueprintPicks: Record<string, string>;
  range: TimeRange | undefined;
  /** Sends records through the widget (`POST /data/:dashboard/:widget`); refused when read only. */
  sendData(widgetId: string, records: (DataRecordInputJson & { origin: string })[]): Promise<void>;
  /** Publishes the widget's configured MQTT downlink (`POST /dashboard/:id/widget/:widget/publish`). */
  publish(widgetId: string, value: string | number | boolean): Promise<void>;
  /** Tells the page this widget has drawn its first data (reports print when every widget has). */
  ready(widgetId: string): void;
}
