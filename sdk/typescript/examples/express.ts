// The Connect shape (req, res, next): Express, Connect, or node:http as here.
import http from "node:http";
import { Keyward, LocalCache, keyOf, keywardMiddleware } from "@keyward/client";

const kw = new Keyward(); // KEYWARD_URL, KEYWARD_API_KEY (a key with keys:verify)
const cache = new LocalCache(kw);
await cache.start(); // throws if the key is refused or lacks keys:verify

const requireKey = keywardMiddleware(kw, { localCache: cache, requireScopes: ["orders:read"] });

// With Express: app.use("/orders", requireKey) and keyOf(req) in the route.
http
  .createServer((req, res) => {
    requireKey(req, res, () => {
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify({ key: keyOf(req)?.id }));
    });
  })
  .listen(3000);
