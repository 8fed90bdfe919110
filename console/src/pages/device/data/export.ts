/**
 * CSV export of the records a filter selects, fetched page by page (10 000 records, the API's
 * largest page) and assembled in the browser into a file to download. Pages follow time
 * (keyset, see query.ts), so the export reaches records no `skip` could; with several
 * variables each variable is exported in turn, because the API pages those per variable.
 */
import type { DataRecordJson } from "../../../../../src/http/api_types.js";
import { request, seg } from "../../../api/client.js";
import { CSV_HEADER, recordToCsv } from "./csv_records.js";
import { filterQuery, FIRST_PAGE, keysetAfter, splitList, type Cursor, type DataForm } from "./query.js";

const PAGE = 10_000;

export interface ExportProgress {
  records: number;
}

export async function exportCsv(deviceId: string, form: DataForm, onProgress: (p: ExportProgress) => void, signal: AbortSignal): Promise<{ blob: Blob; records: number }> {
  const parts: string[] = [CSV_HEADER];
  let records = 0;
  const variables = splitList(form.variables);
  const runs: (string | undefined)[] = variables.length > 1 ? variables : [undefined];
  for (const variable of runs) {
    const base = { ...filterQuery(form), ...(variable !== undefined && { variables: [variable] }), query: "default", ordination: form.ordination, qty: PAGE };
    let cursor: Cursor = FIRST_PAGE;
    for (;;) {
      const page = await request<DataRecordJson[]>("GET", `/device/${seg(deviceId)}/data`, {
        query: { ...base, ...(cursor.skip > 0 && { skip: cursor.skip }), ...(cursor.edge !== undefined && { [form.ordination === "descending" ? "end_date" : "start_date"]: cursor.edge }) },
        signal,
      });
      // A page may come back shorter than asked (cut at the API's page bytes): only an empty one ends the walk.
      if (page.length === 0) break;
      let text = "";
      for (const record of page) text += recordToCsv(record);
      parts.push(text);
      records += page.length;
      onProgress({ records });
      cursor = keysetAfter(cursor, page);
    }
  }
  return { blob: new Blob(parts, { type: "text/csv;charset=utf-8" }), records };
}

/** Hands `blob` to the browser as a download named `name`. */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // Revoked after the browser has started reading it.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
