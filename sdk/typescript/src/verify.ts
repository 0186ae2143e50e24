import { KeywardConfigError, KeywardError } from "./errors.js";
import type { Answer, RequestOptions, Transport } from "./request.js";
import type { VerifyInput, VerifyResult, Whoami } from "./types.js";

/** The scope a key needs to verify keys and to follow the key change stream. */
export const SCOPE_KEYS_VERIFY = "keys:verify";

/**
 * Calls POST /v1/verify (project key) or POST /v1/org/verify (org key).
 * Never retried: a middleware that fails closed answers 503 at once
 * instead of holding its caller.
 */
export function verify(
  t: Transport,
  cred: "project" | "org",
  input: VerifyInput,
  opts: RequestOptions,
  headers?: Record<string, string>,
): Promise<Answer<VerifyResult>> {
  return t.call<VerifyResult>({
    method: "POST",
    path: cred === "org" ? "/v1/org/verify" : "/v1/verify",
    body: input,
    cred,
    idempotent: false,
    headers,
    signal: opts.signal,
  });
}

/**
 * Asks keyward once (whoami) whether the client's key can verify keys, so
 * that a service finds a missing or wrong key when it starts instead of
 * answering 503 to every request. The error names where the key came from,
 * or the keys:verify scope it lacks; when keyward cannot be reached the
 * call's own error is thrown (after the usual retries).
 */
export async function checkVerify(t: Transport, cred: "project" | "org", opts: RequestOptions): Promise<void> {
  const what = cred === "org" ? "org API key" : "project API key";
  const from = cred === "org" ? t.cfg.orgApiKeyFrom : t.cfg.apiKeyFrom;
  let w: Whoami;
  try {
    const a = await t.call<Whoami>({
      method: "GET", path: cred === "org" ? "/v1/org/whoami" : "/v1/whoami", cred, idempotent: true, signal: opts.signal,
    });
    w = a.data;
  } catch (err) {
    if (err instanceof KeywardError && (err.status === 401 || err.code === "PERMISSION_DENIED")) {
      throw new KeywardConfigError("API_KEY_REFUSED", `keyward: the ${what} from ${from} does not work: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
  if (!w.scopes.includes(SCOPE_KEYS_VERIFY)) {
    throw new KeywardConfigError(
      "SCOPE_MISSING",
      `keyward: the ${what} from ${from} (${w.key_id}) lacks the ${SCOPE_KEYS_VERIFY} scope, which verifying keys needs; ` +
        `use a key that has it (keyward keys create --scopes ${SCOPE_KEYS_VERIFY})`,
    );
  }
}
