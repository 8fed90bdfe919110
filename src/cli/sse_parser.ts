/** One dispatched Server-Sent Event. */
export interface SseMessage {
  /** The stream's last event id when this event was dispatched ("" if none yet). */
  id: string;
  event: string;
  data: string;
}

/**
 * Incremental parser for the `text/event-stream` format, as the HTML spec defines it: lines
 * end with CRLF, LF or CR; `field: value` lines build an event, a blank line dispatches it;
 * lines starting with `:` are comments (heartbeats). Chunks may split lines anywhere.
 */
export class SseParser {
  private buffer = "";
  /** A chunk ended with CR: an LF starting the next chunk belongs to the same line end. */
  private afterCr = false;
  private started = false;
  private data: string[] = [];
  private event = "";
  private lastId = "";
  /** The server's suggested reconnection delay, if it sent one. */
  retryMs: number | undefined;

  /**
   * Forgets a half-received line and event, for a new connection; keeps the last event id and
   * the retry delay, which outlive connections.
   */
  reset(): void {
    this.buffer = "";
    this.afterCr = false;
    this.started = false;
    this.data = [];
    this.event = "";
  }

  /** Feeds decoded text; returns the events it completed. */
  push(chunk: string): SseMessage[] {
    let text = chunk;
    if (this.afterCr && text.startsWith("\n")) text = text.slice(1);
    this.afterCr = false;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a leading byte-order mark is ignored
    }
    this.buffer += text;
    const out: SseMessage[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.buffer.slice(start, i);
      if (c === 13) {
        if (i + 1 === this.buffer.length) this.afterCr = true;
        else if (this.buffer.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
      const message = this.line(line);
      if (message) out.push(message);
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  private line(line: string): SseMessage | undefined {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        this.data.push(value);
        break;
      case "event":
        this.event = value;
        break;
      case "id":
        if (!value.includes("\0")) this.lastId = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      // Other fields are ignored, as the spec says.
    }
    return undefined;
  }

  private dispatch(): SseMessage | undefined {
    const data = this.data;
    const event = this.event;
    this.data = [];
    this.event = "";
    if (data.length === 0) return undefined;
    return { id: this.lastId, event: event || "message", data: data.join("\n") };
  }
}
