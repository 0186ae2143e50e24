#!/usr/bin/env bash
# A/B of two keyward binaries as users run them: each as `keyward serve` on
# a fresh PostgreSQL database of its own, loaded with wrk in its own
# process, rounds alternating A, B, A, B, … so that the machine's drift
# moves both. Prints each round's rate and p99 and the ratio B/A.
#
#   internal/tools/verifyab/run.sh OLD_BINARY NEW_BINARY [ROUNDS] [DURATION] [CONNS] [ENDPOINT]
#
# ENDPOINT is verify (POST /v1/verify of a valid key, authenticated by a
# keys:verify key) or whoami (GET /v1/whoami). Defaults: 10 rounds, 3s,
# 32 connections, verify. Needs wrk (apt-get install wrk) and psql; the
# server is KEYWARD_AB_POSTGRES (default the test server's admin URL).
# KEYWARD_AB_STORE=sqlite runs each keyward on a SQLite file instead, as
# `keyward serve` runs by default.
#
# OLD_BINARY may be the word bare: the A side is then a bare net/http
# server in a process of its own (internal/tools/bareserver, built here),
# answering the same requests with 200 and a small JSON body: the
# separate-process comparison of keyward against the least a server does.
# Both servers run for the whole A/B (one process per binary, warmed up
# for 1 s before the first round); their request logs go to files in a
# temporary directory, as `keyward serve` writes them in production.
# Besides the rate, each round gives the server's CPU time per request
# (user + system, from /proc), which the machine's neighbours move less.
# The databases are dropped at the end, also on error or Ctrl-C.
set -euo pipefail

old=$1 new=$(realpath "$2")
[ "$old" = bare ] || old=$(realpath "$old")
rounds=${3:-10} dur=${4:-3s} conns=${5:-32} endpoint=${6:-verify}
admin=${KEYWARD_AB_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
store=${KEYWARD_AB_STORE:-postgres}
src=$(cd "$(dirname "$0")/../../.." && pwd)
# shellcheck source=../wrkround.sh
. "$src/internal/tools/wrkround.sh"
base=${admin%%\?*}; base=${base%/*}   # postgres://user@host:port
work=$(mktemp -d)
export KEYWARD_KEY_PEPPER="verifyab pepper"
pids=() dbs=()

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	for d in "${dbs[@]}"; do psql -q "$admin" -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

# start NAME BINARY PORT: a database, bootstrap, serve, a project and two
# keys; writes the wrk script to $work/NAME.lua.
start() {
	local name=$1 bin=$2 port=$3
	if [ "$bin" = bare ]; then
		startbare "$name" "$port"
		return
	fi
	local url
	if [ "$store" = sqlite ]; then
		url="sqlite:$work/$name.db"
	else
		local db="keyward_ab_${name}_$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
		psql -q "$admin" -c "CREATE DATABASE $db" >/dev/null
		dbs+=("$db")
		url="$base/$db?sslmode=disable"
	fi
	local org
	org=$("$bin" bootstrap --org AB --email ab@example.com --database "$url" | sed -n 's/.*"org_api_key": *"\([^"]*\)".*/\1/p')
	"$bin" serve --addr "127.0.0.1:$port" --database "$url" --log-format json 2>"$work/$name.log" &
	pids+=($!)
	until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.1; done
	export KEYWARD_URL="http://127.0.0.1:$port" KEYWARD_ORG_API_KEY="$org"
	local project verifier key
	project=$("$bin" projects create --name AB -o json | sed -n 's/.*"id": *"\(prj_[^"]*\)".*/\1/p' | head -1)
	verifier=$("$bin" keys create --project "$project" --name verifier --scopes keys:verify -o json 2>/dev/null | sed -n 's/.*"secret": *"\([^"]*\)".*/\1/p')
	key=$("$bin" keys create --project "$project" --name checked -o json 2>/dev/null | sed -n 's/.*"secret": *"\([^"]*\)".*/\1/p')
	if [ -z "$verifier" ] || [ -z "$key" ]; then echo "$name: could not create keys" >&2; exit 1; fi
	if [ "$endpoint" = verify ]; then
		cat >"$work/$name.lua" <<EOF
wrk.method = "POST"
wrk.path = "/v1/verify"
wrk.body = '{"key":"$key"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["x-api-key"] = "$verifier"
EOF
	else
		cat >"$work/$name.lua" <<EOF
wrk.method = "GET"
wrk.path = "/v1/whoami"
wrk.headers["x-api-key"] = "$key"
EOF
	fi
	# One answer checked by hand: the key is valid.
	curl -sf -H "x-api-key: $verifier" -H 'Content-Type: application/json' \
		-d "{\"key\":\"$key\"}" "http://127.0.0.1:$port/v1/verify" | grep -q '"valid": *true' ||
		{ echo "$name: the key did not verify" >&2; exit 1; }
	wrk -c "$conns" -d 1s -s "$work/$name.lua" "http://127.0.0.1:$port" >/dev/null # warm-up
}

# startbare NAME PORT: the bare server, loaded with the same requests as
# keyward (placeholder keys: it reads no header).
startbare() {
	local name=$1 port=$2 fake=kwp_placeholder_placeholder_placeholder
	(cd "$src" && go build -o "$work/bareserver" ./internal/tools/bareserver)
	"$work/bareserver" -addr "127.0.0.1:$port" &
	pids+=($!)
	until curl -s "http://127.0.0.1:$port/" >/dev/null; do sleep 0.1; done
	if [ "$endpoint" = verify ]; then
		printf '%s\n' 'wrk.method = "POST"' 'wrk.path = "/v1/verify"' "wrk.body = '{\"key\":\"$fake\"}'" \
			'wrk.headers["Content-Type"] = "application/json"' "wrk.headers[\"x-api-key\"] = \"$fake\"" >"$work/$name.lua"
	else
		printf '%s\n' 'wrk.method = "GET"' 'wrk.path = "/v1/whoami"' "wrk.headers[\"x-api-key\"] = \"$fake\"" >"$work/$name.lua"
	fi
	wrk -c "$conns" -d 1s -s "$work/$name.lua" "http://127.0.0.1:$port" >/dev/null # warm-up
}

# load NAME PORT PID: one round against NAME's server.
load() { wrk_round "$work/$1.lua" "http://127.0.0.1:$2" "$3"; }

start old "$old" 18081
start new "$new" 18082
echo "endpoint $endpoint, $rounds rounds of -c$conns -d$dur, alternating old/new; load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %12s %9s %9s %12s %9s %9s %8s\n' round old_req/s old_p99 old_cpu new_req/s new_p99 new_cpu new/old
ratios=() cpus=()
for r in $(seq 1 "$rounds"); do
	read -r orate op99 obad ocpu < <(load old 18081 "${pids[0]}")
	read -r nrate np99 nbad ncpu < <(load new 18082 "${pids[1]}")
	if [ "$obad" != 0 ] || [ "$nbad" != 0 ]; then echo "non-2xx answers: old $obad, new $nbad" >&2; exit 1; fi
	ratio=$(awk -v a="$orate" -v b="$nrate" 'BEGIN {printf "%.3f", b/a}')
	ratios+=("$ratio")
	cpus+=("$ocpu $ncpu")
	printf '%-6s %12s %7sms %7sus %12s %7sms %7sus %8s\n' "$r" "$orate" "$op99" "$ocpu" "$nrate" "$np99" "$ncpu" "$ratio"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{v[NR]=$1; s+=$1} END {
	m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
	printf "new/old: median %.3f, mean %.3f, min %.3f, max %.3f\n", m, s/NR, v[1], v[NR]}'
printf '%s\n' "${cpus[@]}" | awk '{o[NR]=$1; n[NR]=$2; so+=$1; sn+=$2} END {
	printf "server CPU per request: old mean %.1f us, new mean %.1f us (new/old %.3f)\n", so/NR, sn/NR, sn/so}'
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
