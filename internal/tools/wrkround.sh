# Sourced by verifyab/run.sh and proxyab/run.sh: one measured round of wrk.
# Needs $conns and $dur set by the caller.

# cputicks PID: the process's user+system CPU time, in clock ticks.
cputicks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# wrk_round LUA URL PID: one round of wrk with the script LUA against URL;
# prints "rate p99_ms non2xx cpu_us_per_request", the CPU being PID's.
wrk_round() {
	local out t0 t1 rate p99 bad n cpu
	t0=$(cputicks "$3")
	out=$(wrk -c "$conns" -d "$dur" --latency -s "$1" "$2")
	t1=$(cputicks "$3")
	rate=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	n=$(awk '/requests in/ {print $1}' <<<"$out")
	cpu=$(awk -v d=$((t1 - t0)) -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", d / hz * 1e6 / n}')
	p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' <<<"$out")
	bad=$(awk '/Non-2xx/ {print $5}' <<<"$out")
	echo "$rate $p99 ${bad:-0} $cpu"
}
