import { KeywardRequestError, decodeError } from "./errors.js";
import type { Transport } from "./request.js";
import { EventStreamParser } from "./sse.js";

/** The data of a "changes" event of the key change stream. */
export interface ChangeEvent {
  /** The last change of keyward's change log that the stream has read. */
  seq: number;
  /** The keys that changed since the previous event: forget them. */
  key_ids: string[];
  /** Whether the answering node's invalidation feed is up; memory is used only while it is. */
  live: boolean;
}

/** One event's line bound; keyward sends at most 500 key ids (about 16 KB) per event. */
const MAX_EVENT_BYTES = 1 << 20;

/** Why a stream was given up: it sent nothing for too long. */
class SilentError extends Error {
  constructor(ms: number) {
    super(`the stream sent nothing for ${ms} ms`);
    this.name = "SilentError";
  }
}

/**
 * Reads one connection of GET /v1/key-changes (or /v1/org/key-changes)
 * and hands each "changes" event to apply, until the connection ends,
 * fails, falls silent for silenceMs or stop aborts. It always throws: the
 * reason the stream is gone.
 */
export async function followChanges(
  t: Transport,
  cred: "project" | "org",
  silenceMs: number,
  stop: AbortSignal,
  apply: (e: ChangeEvent) => void,
): Promise<never> {
  const path = cred === "org" ? "/v1/org/key-changes" : "/v1/key-changes";
  const [header, key] = t.credential(cred) ?? ["", ""];
  const ac = new AbortController();
  const onStop = () => ac.abort(stop.reason);
  stop.addEventListener("abort", onStop, { once: true });
  // The stream is bounded by its heartbeats, from the moment it is asked
  // for: a server that never answers is given up like one that falls silent.
  let watchdog = setTimeout(() => ac.abort(new SilentError(silenceMs)), silenceMs);
  const fail = (reason: string, cause?: unknown) =>
    new KeywardRequestError("GET", path, reason, cause === undefined ? {} : { cause });
  try {
    let res: Response;
    try {
      res = await t.cfg.fetch(t.cfg.baseUrl + path, {
        headers: { Accept: "text/event-stream", "User-Agent": t.cfg.userAgent, [header]: key },
        redirect: "manual",
        signal: ac.signal,
      });
    } catch (err) {
      throw fail(reasonOf(err, ac.signal), err);
    }
    if (res.status !== 200) {
      const text = await res.text().catch(() => "");
      throw decodeError(res.status, res.statusText, res.headers, text, Date.now());
    }
    const ct = res.headers.get("Content-Type") ?? "";
    if (!ct.startsWith("text/event-stream") || !res.body) {
      await res.body?.cancel().catch(() => {});
      throw fail(`answered ${JSON.stringify(ct)}, not an event stream`);
    }
    const parser = new EventStreamParser((ev) => {
      if (ev.event !== "changes") return;
      const e = parseChange(ev.data);
      if (!e) throw fail("an event that is not a change");
      clearTimeout(watchdog);
      watchdog = setTimeout(() => ac.abort(new SilentError(silenceMs)), silenceMs);
      apply(e);
    }, MAX_EVENT_BYTES);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        throw fail(reasonOf(err, ac.signal), err);
      }
      if (chunk.done) break;
      try {
        parser.push(decoder.decode(chunk.value, { stream: true }));
      } catch (err) {
        if (err instanceof KeywardRequestError) throw err;
        throw fail(reasonOf(err, ac.signal), err);
      }
    }
    throw fail("the stream ended");
  } finally {
    clearTimeout(watchdog);
    stop.removeEventListener("abort", onStop);
    ac.abort(); // closes the connection if it is still open
  }
}

/** A short reason for a failed read: silence, a stop, or the error. */
function reasonOf(err: unknown, signal: AbortSignal): string {
  if (signal.aborted) return signal.reason instanceof SilentError ? signal.reason.message : "stopped";
  return err instanceof Error ? err.message : String(err);
}

/** Reads one event's data, or undefined when it is not a change. */
function parseChange(data: string): ChangeEvent | undefined {
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    return undefined;
  }
  const e = v as Partial<ChangeEvent> | null;
  if (
    e === null ||
    typeof e !== "object" ||
    typeof e.seq !== "number" ||
    typeof e.live !== "boolean" ||
    !(e.key_ids === undefined || e.key_ids === null || (Array.isArray(e.key_ids) && e.key_ids.every((id) => typeof id === "string")))
  ) {
    return undefined;
  }
  return { seq: e.seq, key_ids: e.key_ids ?? [], live: e.live };
}
