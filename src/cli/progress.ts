import type { Progress } from "../store/sqlite/backup.js";

/**
 * Pages done of a backup or restore, on stderr: rewritten in place on a terminal (at most ten
 * times a second), one line per tenth otherwise (a log, a cron mail).
 */
export function pageProgress(label: string, out: NodeJS.WriteStream = process.stderr): { update(p: Progress): void; finish(): void } {
  const tty = out.isTTY === true;
  let lastTenth = -1;
  let lastAt = 0;
  let total = 0;
  const line = (done: number) => `${label}: ${done}/${total} pages (${total === 0 ? 100 : Math.floor((done * 100) / total)}%)`;
  return {
    update(p) {
      total = p.totalPages;
      const done = p.totalPages - p.remainingPages;
      if (tty) {
        const now = Date.now();
        if (now - lastAt < 100) return;
        lastAt = now;
        out.write(`\r${line(done)}`);
        return;
      }
      const tenth = total === 0 ? 10 : Math.floor((done * 10) / total);
      if (tenth === lastTenth) return;
      lastTenth = tenth;
      out.write(`${line(done)}\n`);
    },
    finish() {
      out.write(tty ? `\r${line(total)}\n` : lastTenth === 10 ? "" : `${line(total)}\n`);
    },
  };
}

/** 12345678 → "11.8 MB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}
