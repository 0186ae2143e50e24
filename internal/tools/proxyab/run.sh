#!/usr/bin/env bash
# keyward proxy against a bare httputil.ReverseProxy, as users run them:
# one upstream (internal/tools/bareserver), one keyward serve on a SQLite
# file for the proxy to verify with, `keyward proxy` and
# internal/tools/bareproxy in front of the same upstream, each a process
# of its own, loaded in turn by wrk (rounds alternating bare, keyward) with
# a valid key on a route that requires a scope. Prints each round's rate,
# p99 and the proxy's CPU per request, and the ratio keyward/bare.
#
#   internal/tools/proxyab/run.sh KEYWARD_BINARY [ROUNDS] [DURATION] [CONNS]
#
# Defaults: 10 rounds, 3s, 32 connections. Needs wrk (apt-get install wrk).
set -euo pipefail

bin=$(realpath "$1")
rounds=${2:-10} dur=${3:-3s} conns=${4:-32}
src=$(cd "$(dirname "$0")/../../.." && pwd)
# shellcheck source=../wrkround.sh
. "$src/internal/tools/wrkround.sh"
work=$(mktemp -d)
export KEYWARD_KEY_PEPPER="proxyab pepper"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
wait_up() { until curl -s -o /dev/null "$1"; do sleep 0.1; done; }

(cd "$src" && go build -o "$work/bareserver" ./internal/tools/bareserver && go build -o "$work/bareproxy" ./internal/tools/bareproxy)
"$work/bareserver" -addr 127.0.0.1:19000 & pids+=($!)
db="sqlite:$work/k.db"
org=$("$bin" bootstrap --org AB --email ab@example.com --database "$db" | sed -n 's/.*"org_api_key": *"\([^"]*\)".*/\1/p')
"$bin" serve --addr 127.0.0.1:19001 --database "$db" --log-format json 2>"$work/serve.log" & pids+=($!)
wait_up http://127.0.0.1:19000/ && wait_up http://127.0.0.1:19001/readyz
export KEYWARD_URL=http://127.0.0.1:19001 KEYWARD_ORG_API_KEY="$org"
project=$("$bin" projects create --name AB --scopes orders:read -o json | sed -n 's/.*"id": *"\(prj_[^"]*\)".*/\1/p' | head -1)
verifier=$("$bin" keys create --project "$project" --name proxy --scopes keys:verify -o json 2>/dev/null | sed -n 's/.*"secret": *"\([^"]*\)".*/\1/p')
key=$("$bin" keys create --project "$project" --name client --scopes orders:read -o json 2>/dev/null | sed -n 's/.*"secret": *"\([^"]*\)".*/\1/p')
[ -n "$verifier" ] && [ -n "$key" ] || { echo "could not create keys" >&2; exit 1; }
printf '{"routes": [{"match": "GET /orders/", "scopes": ["orders:read"]}]}\n' >"$work/routes.json"
KEYWARD_API_KEY="$verifier" "$bin" proxy --listen 127.0.0.1:19003 --upstream http://127.0.0.1:19000 \
	--config "$work/routes.json" --admin-addr 127.0.0.1:19004 --log-format json 2>"$work/proxy.log" & pids+=($!)
kwpid=$!
"$work/bareproxy" -addr 127.0.0.1:19002 -upstream http://127.0.0.1:19000 & pids+=($!)
barepid=$!
wait_up http://127.0.0.1:19002/ && wait_up http://127.0.0.1:19004/healthz
until curl -sf http://127.0.0.1:19004/readyz >/dev/null; do sleep 0.1; done
code=$(curl -s -o /dev/null -w '%{http_code}' -H "x-api-key: $key" http://127.0.0.1:19003/orders/1)
[ "$code" = 200 ] || { echo "keyward proxy answered $code to a valid key" >&2; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:19003/orders/1)
[ "$code" = 401 ] || { echo "keyward proxy answered $code without a key" >&2; exit 1; }
printf 'wrk.method = "GET"\nwrk.path = "/orders/1"\nwrk.headers["x-api-key"] = "%s"\n' "$key" >"$work/req.lua"
for port in 19002 19003; do wrk -c "$conns" -d 1s -s "$work/req.lua" "http://127.0.0.1:$port" >/dev/null; done # warm-up

load() { wrk_round "$work/req.lua" "http://127.0.0.1:$1" "$2"; } # PORT PID

echo "keyward proxy vs httputil.ReverseProxy, $rounds rounds of -c$conns -d$dur; load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %12s %9s %9s %12s %9s %9s %8s %8s\n' round bare_req/s bare_p99 bare_cpu kw_req/s kw_p99 kw_cpu rate p99
rows=()
for r in $(seq 1 "$rounds"); do
	read -r brate bp99 bbad bcpu < <(load 19002 "$barepid")
	read -r krate kp99 kbad kcpu < <(load 19003 "$kwpid")
	if [ "$bbad" != 0 ] || [ "$kbad" != 0 ]; then echo "non-2xx answers: bare $bbad, keyward $kbad" >&2; exit 1; fi
	ratio=$(awk -v a="$brate" -v b="$krate" 'BEGIN {printf "%.3f", b/a}')
	pr=$(awk -v a="$bp99" -v b="$kp99" 'BEGIN {printf "%.2f", b/a}')
	rows+=("$ratio $pr")
	printf '%-6s %12s %7sms %7sus %12s %7sms %7sus %8s %8s\n' "$r" "$brate" "$bp99" "$bcpu" "$krate" "$kp99" "$kcpu" "$ratio" "$pr"
done
printf '%s\n' "${rows[@]}" | sort -n | awk '{v[NR]=$1; p[NR]=$2; s+=$1} END {
	m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
	printf "keyward/bare throughput: median %.3f, mean %.3f, min %.3f, max %.3f\n", m, s/NR, v[1], v[NR]}'
printf '%s\n' "${rows[@]}" | awk '{print $2}' | sort -n | awk '{v[NR]=$1} END {
	m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
	printf "keyward/bare p99: median %.2f, min %.2f, max %.2f\n", m, v[1], v[NR]}'
# How many of the proxied requests needed keyward: the proxy verifies from
# memory, so this stays near the number of keys used, not of requests.
sleep 0.2 # keyward serve writes request lines in batches every 100 ms
echo "verifications keyward serve answered during the run: $(grep -c '"route":"POST /v1/verify"' "$work/serve.log" || true)"
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
