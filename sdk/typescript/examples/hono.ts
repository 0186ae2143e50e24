// Any framework: authenticate() decides from the headers, you answer.
// Shown with a Hono-style middleware (c, next); hono itself is not needed here.
import { Keyward, authenticate, type Key } from "@keyward/client";

interface Context {
  req: { raw: Request; header(name: string): string | undefined };
  set(name: "key", value: Key): void;
  header(name: string, value: string): void;
}

const kw = new Keyward();

export async function requireKey(c: Context, next: () => Promise<void>): Promise<Response | void> {
  const auth = await authenticate(kw, c.req.raw.headers, {
    requireScopes: ["orders:read"],
    ip: c.req.header("cf-connecting-ip"),
  });
  if (!auth.ok) return auth.response();
  c.set("key", auth.key);
  for (const [name, value] of Object.entries(auth.headers)) c.header(name, value);
  await next();
}
