/** Icons drawn inline (no icon font, nothing fetched): 16×16 strokes, coloured by `currentColor`. */
const PATHS: Record<string, string> = {
  device: "M4 2h8v12H4zM7 12h2",
  action: "M9 1 3 9h5l-1 6 6-8H8z",
  analysis: "M2 14V6m4 8V2m4 12V8m4 6V4",
  edit: "M11 2l3 3-8 8H3v-3zM9 4l3 3",
  trash: "M3 4h10M6 4V2h4v2M4 4l1 10h6l1-10",
  dashboard: "M2 2h5v7H2zM9 2h5v4H9zM9 8h5v6H9zM2 11h5v3H2z",
  bell: "M4 11V7a4 4 0 0 1 8 0v4l1 2H3zM7 14h2",
  relay: "M2 8h4m4 0h4M6 5l4 3-4 3",
  account: "M8 8a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm-5 7a5 5 0 0 1 10 0",
  sun: "M8 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM8 1v2m0 10v2M1 8h2m10 0h2",
  moon: "M13 10A6 6 0 0 1 6 3a6 6 0 1 0 7 7z",
  menu: "M2 4h12M2 8h12M2 12h12",
};

export function Icon({ name, title }: { name: string; title?: string }) {
  return (
    <svg class="icon" viewBox="0 0 16 16" width="16" height="16" aria-hidden={title ? undefined : "true"} role={title ? "img" : undefined} aria-label={title}>
      <path d={PATHS[name] ?? ""} fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round" />
    </svg>
  );
}
