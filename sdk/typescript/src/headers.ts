/** Request headers as web-standard runtimes (`Headers`) and Node (`req.headers`) give them. */
export type HeadersLike = Headers | Record<string, string | string[] | undefined>;

/** Every value of a header as given, looked up case-insensitively. */
export function headerList(h: HeadersLike, name: string): string[] {
  let raw: string | string[] | null | undefined;
  if (typeof (h as Headers).get === "function" && typeof (h as Headers).has === "function") {
    raw = (h as Headers).get(name);
  } else {
    const rec = h as Record<string, string | string[] | undefined>;
    raw = rec[name] ?? Object.entries(rec).find(([k]) => k.toLowerCase() === name)?.[1];
  }
  if (raw === null || raw === undefined) return [];
  return Array.isArray(raw) ? raw.filter((v): v is string => typeof v === "string") : typeof raw === "string" ? [raw] : [];
}
