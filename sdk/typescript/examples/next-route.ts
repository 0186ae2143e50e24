// A Next.js route handler (app/api/orders/route.ts).
import { Keyward, keyOf, protect } from "@keyward/client";

const kw = new Keyward();

export const GET = protect(
  kw,
  async (request: Request) => Response.json({ key: keyOf(request)?.id }),
  {
    requireScopes: ["orders:read"],
    clientIp: (request) => request.headers.get("x-forwarded-for")?.split(",")[0]?.trim(),
  },
);
