// A Cloudflare-style worker: the keys come from the worker's env binding.
import { Keyward, keyOf, protect } from "@keyward/client";

interface Env {
  KEYWARD_URL: string;
  KEYWARD_API_KEY: string;
}

async function app(request: Request, _env: Env): Promise<Response> {
  return new Response(`hello ${keyOf(request)?.name}`);
}

let handler: ((request: Request, env: Env) => Promise<Response>) | undefined;

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    handler ??= protect(new Keyward({ env: { ...env } }), app, {
      clientIp: (r) => r.headers.get("cf-connecting-ip"),
    });
    return handler(request, env);
  },
};
