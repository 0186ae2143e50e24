// A forward-authentication service for a reverse proxy (nginx auth_request,
// Caddy forward_auth, Traefik ForwardAuth), served with node:http.
import http from "node:http";
import { Keyward, LocalCache, forwardAuthHandler } from "@keyward/client";

const kw = new Keyward();
const cache = new LocalCache(kw);
await cache.start();

const check = forwardAuthHandler(kw, {
  localCache: cache,
  // The address your proxy forwards (only trust a header your proxy sets).
  clientIp: (request) => request.headers.get("x-real-ip"),
});

http
  .createServer(async (req, res) => {
    const headers = new Headers();
    for (const [name, values] of Object.entries(req.headersDistinct)) {
      for (const v of values ?? []) headers.append(name, v);
    }
    const answer = await check(new Request(`http://auth${req.url}`, { headers }));
    res.writeHead(answer.status, Object.fromEntries(answer.headers));
    res.end(await answer.text());
  })
  .listen(9000, "127.0.0.1");
