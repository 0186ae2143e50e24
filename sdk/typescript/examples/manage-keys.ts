// Managing keys with a project key (KEYWARD_URL, KEYWARD_API_KEY).
import { Keyward, KeywardError } from "@keyward/client";

const kw = new Keyward(); // reads KEYWARD_URL and KEYWARD_API_KEY

const key = await kw.keys.create({
  name: "CI",
  scopes: ["orders:read"],
  expires_in: "30d",
  rate_limit: { limit: 100, window: "1m" },
});
console.log(key.secret); // shown only in this answer

for await (const k of kw.keys.all({ status: "active" })) {
  console.log(k.id, k.name, k.last_used_at);
}

await kw.keys.update(key.id, { name: "CI (main)", metadata: { team: "web" } });
const next = await kw.keys.rotate(key.id, { grace_period: "24h" });
await kw.keys.revoke(next.id, { reason: "no longer used" });

try {
  await kw.keys.create({ name: "one too many" });
} catch (err) {
  if (err instanceof KeywardError && err.code === "KEY_LIMIT_REACHED") {
    console.error(`limit reached (status ${err.status}, request ${err.requestId})`);
  } else {
    throw err;
  }
}
