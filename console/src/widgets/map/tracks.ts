/** Records with a location as tracks: per device, points oldest to newest, at most `max` each. */
import type { DataRecordJson, WidgetSourceResultJson } from "../../../../src/http/api_types.js";

export interface TrackPoint {
  lat: number;
  lng: number;
  time: string;
  variable: string;
  value: DataRecordJson["value"];
}

export type Tracks = Map<string, TrackPoint[]>;

function point(r: DataRecordJson): TrackPoint | undefined {
  const c = r.location?.coordinates;
  if (!Array.isArray(c) || c.length < 2) return undefined;
  const [lng, lat] = c;
  if (typeof lat !== "number" || typeof lng !== "number" || Math.abs(lat) > 90 || Math.abs(lng) > 180) return undefined;
  return { lat, lng, time: r.time, variable: r.variable, value: r.value };
}

export function addRecords(tracks: Tracks, records: readonly DataRecordJson[], max: number): Tracks {
  const next: Tracks = new Map([...tracks].map(([device, points]) => [device, [...points]]));
  for (const r of records) {
    const p = point(r);
    if (!p) continue;
    let list = next.get(r.device);
    if (!list) next.set(r.device, (list = []));
    list.push(p);
  }
  for (const [device, list] of next) {
    list.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    if (list.length > max) next.set(device, list.slice(list.length - max));
  }
  return next;
}

export function readTracks(results: WidgetSourceResultJson[], max: number): Tracks {
  const records = results.flatMap((r) => (Array.isArray(r.result) ? (r.result as DataRecordJson[]) : []));
  return addRecords(new Map(), records, max);
}
