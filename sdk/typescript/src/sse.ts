// A parser of text/event-stream (server-sent events) fed with decoded
// text as it arrives, in pieces of any size.

/** One dispatched event: its type ("message" when the stream named none) and its data lines joined by "\n". */
export interface ServerSentEvent {
  event: string;
  data: string;
  id: string;
}

/** Thrown when one line or one event's data grows past the parser's bound. */
export class EventTooLargeError extends Error {
  constructor(max: number) {
    super(`an event of more than ${max} bytes`);
    this.name = "EventTooLargeError";
  }
}

/**
 * Splits the stream into lines (LF, CRLF or CR), reads fields and
 * dispatches an event at each blank line, as the HTML standard's
 * event-stream format says: comments (":…") are skipped, "retry" is
 * ignored, an event without data is not dispatched.
 */
export class EventStreamParser {
  private buf = "";
  private skipLF = false; // the last piece ended in CR: a LF that starts the next one ends no line
  private event = "";
  private data: string[] = [];
  private dataSize = 0;
  private lastId = "";

  /** onEvent receives each event; maxBytes bounds a line and an event's data. */
  constructor(
    private readonly onEvent: (e: ServerSentEvent) => void,
    private readonly maxBytes = 1 << 20,
  ) {}

  /** Feeds the next piece of the stream. onEvent's errors are thrown from here. */
  push(text: string): void {
    if (text === "") return;
    if (this.skipLF && text.startsWith("\n")) text = text.slice(1);
    this.skipLF = false;
    this.buf += text;
    let start = 0;
    for (;;) {
      const cr = this.buf.indexOf("\r", start);
      const lf = this.buf.indexOf("\n", start);
      if (cr < 0 && lf < 0) break;
      const end = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
      const line = this.buf.slice(start, end);
      start = end + 1;
      if (end === cr) {
        if (start === this.buf.length) this.skipLF = true;
        else if (this.buf[start] === "\n") start++;
      }
      this.line(line);
    }
    this.buf = this.buf.slice(start);
    if (this.buf.length > this.maxBytes) throw new EventTooLargeError(this.maxBytes);
  }

  private line(line: string): void {
    if (line === "") {
      this.dispatch();
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.event = value;
        break;
      case "data":
        this.dataSize += value.length + 1;
        if (this.dataSize > this.maxBytes) throw new EventTooLargeError(this.maxBytes);
        this.data.push(value);
        break;
      case "id":
        if (!value.includes("\0")) this.lastId = value;
        break;
    }
  }

  private dispatch(): void {
    const event = this.event || "message";
    const data = this.data;
    this.event = "";
    this.data = [];
    this.dataSize = 0;
    if (data.length === 0) return;
    this.onEvent({ event, data: data.join("\n"), id: this.lastId });
  }
}
