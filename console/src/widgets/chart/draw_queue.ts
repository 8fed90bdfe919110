/**
 * One animation-frame loop for every chart of the page. A chart with new data asks to be drawn;
 * each frame draws the waiting charts, in the order they first asked, until `FRAME_BUDGET_MS` of
 * script has run, and the rest wait for the next frame. A dashboard of twenty live charts then
 * shares its redraws out over frames instead of doing them all in one task (a task over 50 ms
 * is one the viewer feels: a click or a scroll waits for it).
 */
export interface Drawable {
  draw(): void;
}

const FRAME_BUDGET_MS = 12;

const waiting = new Set<Drawable>();
let frame = 0;

/** Asks for a draw in a coming frame; asking again while waiting keeps its place. */
export function requestDraw(chart: Drawable): void {
  waiting.add(chart);
  if (frame === 0) frame = requestAnimationFrame(run);
}

export function cancelDraw(chart: Drawable): void {
  waiting.delete(chart);
}

function run(): void {
  frame = 0;
  const started = performance.now();
  for (const chart of waiting) {
    waiting.delete(chart);
    chart.draw();
    if (performance.now() - started >= FRAME_BUDGET_MS) break;
  }
  if (waiting.size > 0) frame = requestAnimationFrame(run);
}
