// IP allowlist checks as keyward makes them (Go's net/netip): an address
// is unmapped (::ffff:10.1.2.3 is 10.1.2.3) and is inside a prefix only of
// its own family; an address with a zone, or one that does not parse, is
// inside none.

/**
 * Reports whether a key with this IP allowlist may be used from ip: always
 * when the list is empty, otherwise only from an address inside one of its
 * prefixes.
 */
export function allowsIP(allowlist: readonly string[] | null | undefined, ip: string | undefined): boolean {
  if (!allowlist || allowlist.length === 0) return true;
  const addr = parseAddr(ip ?? "");
  if (!addr) return false;
  const a = unmap(addr);
  return allowlist.some((p) => {
    const prefix = parsePrefix(p);
    return prefix !== undefined && contains(prefix, a);
  });
}

interface Prefix {
  addr: Uint8Array;
  bits: number;
}

/** Parses "addr/bits" (no zone). */
export function parsePrefix(s: string): Prefix | undefined {
  const slash = s.lastIndexOf("/");
  if (slash < 0) return undefined;
  const addr = parseAddr(s.slice(0, slash));
  const bitsText = s.slice(slash + 1);
  if (!addr || !/^(0|[1-9]\d{0,2})$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  if (bits > addr.length * 8) return undefined;
  return { addr, bits };
}

function contains(p: Prefix, a: Uint8Array): boolean {
  if (p.addr.length !== a.length) return false;
  let bits = p.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((p.addr[i] ?? 0) & mask) !== ((a[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** An IPv4-mapped IPv6 address as IPv4; any other address as it is. */
function unmap(a: Uint8Array): Uint8Array {
  if (a.length === 16 && a.slice(0, 10).every((b) => b === 0) && a[10] === 0xff && a[11] === 0xff) {
    return a.slice(12);
  }
  return a;
}

/** Parses an IPv4 (4 bytes) or IPv6 (16 bytes) address; undefined for anything else, zones included. */
export function parseAddr(s: string): Uint8Array | undefined {
  if (s.includes(":")) return parse6(s);
  return parse4(s);
}

/** Four decimal parts of 0 to 255, without leading zeros. */
function parse4(s: string): Uint8Array | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] ?? "";
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

/** Groups of 1 to 4 hex digits, at most one "::" standing for at least one zero group, an optional IPv4 tail. */
function parse6(s: string): Uint8Array | undefined {
  if (s.includes("%")) return undefined; // a zone: inside no prefix
  let groups: string[];
  const lastColon = s.lastIndexOf(":");
  const tail = s.slice(lastColon + 1);
  let v4: Uint8Array | undefined;
  if (tail.includes(".")) {
    v4 = parse4(tail);
    if (!v4) return undefined;
    s = s.slice(0, lastColon + 1) + "0:0"; // two groups, filled in below
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const split = (h: string): string[] | undefined => (h === "" ? [] : h.split(":"));
  const head = split(halves[0] ?? "");
  const rest = halves.length === 2 ? split(halves[1] ?? "") : [];
  if (!head || !rest) return undefined;
  if (halves.length === 2) {
    if (head.length + rest.length > 7) return undefined;
    groups = [...head, ...Array<string>(8 - head.length - rest.length).fill("0"), ...rest];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = groups[i] ?? "";
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const n = parseInt(g, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  }
  if (v4) out.set(v4, 12);
  return out;
}
