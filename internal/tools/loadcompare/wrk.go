package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// loadWrk runs wrk (Debian package wrk) against url for dur with conc
// connections on two threads, and reads its summary: requests per second
// and the 50th and 99th latency percentiles. A body is sent as a POST
// through a small Lua script.
func loadWrk(url, method string, body []byte, key string, conc int, dur time.Duration) (result, error) {
	args := []string{"-t2", "-c" + strconv.Itoa(conc), "-d" + dur.String(), "--latency", "-H", "x-api-key: " + key}
	if body != nil {
		script, err := os.CreateTemp("", "loadcompare-*.lua")
		if err != nil {
			return result{}, err
		}
		defer os.Remove(script.Name())
		_, err = fmt.Fprintf(script, "wrk.method = %q\nwrk.body = %q\nwrk.headers[\"Content-Type\"] = \"application/json\"\n", method, body)
		if cerr := script.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return result{}, err
		}
		args = append(args, "-s", script.Name())
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0, wait0, pre0 := usage(syscall.RUSAGE_SELF)
	busy0, idle0, steal0 := machineTicks()
	load0, _, _ := usage(syscall.RUSAGE_CHILDREN)
	out, err := exec.Command("wrk", append(args, url)...).CombinedOutput()
	load1, _, _ := usage(syscall.RUSAGE_CHILDREN)
	busy1, idle1, steal1 := machineTicks()
	cpu1, wait1, pre1 := usage(syscall.RUSAGE_SELF)
	runtime.ReadMemStats(&m1)
	cpu := cpu1 - cpu0
	if err != nil {
		return result{}, fmt.Errorf("wrk: %w: %s", err, out)
	}
	var r result
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			r.rps, err = strconv.ParseFloat(f[1], 64)
		case len(f) == 2 && f[0] == "50%":
			r.p50, err = time.ParseDuration(f[1])
		case len(f) == 2 && f[0] == "99%":
			r.p99, err = time.ParseDuration(f[1])
		case len(f) >= 4 && f[0] == "Non-2xx":
			r.errors, err = strconv.Atoi(f[len(f)-1])
		}
		if err != nil {
			return result{}, fmt.Errorf("wrk output %q: %w", sc.Text(), err)
		}
	}
	if r.rps == 0 {
		return result{}, fmt.Errorf("wrk printed no rate: %s", out)
	}
	// wrk runs in its own process: this process's CPU is the server's.
	n := r.rps * dur.Seconds()
	r.cpuPerReq = cpu / time.Duration(n)
	r.loadCPUPerReq = (load1 - load0) / time.Duration(n)
	r.waitsPerReq = float64(wait1-wait0) / n
	r.preemptsPerReq = float64(pre1-pre0) / n
	r.bytesPerReq = float64(m1.TotalAlloc-m0.TotalAlloc) / n
	r.gcPer10k = float64(m1.NumGC-m0.NumGC) / n * 1e4
	if t := (busy1 - busy0) + (idle1 - idle0); t > 0 {
		r.idle = float64(idle1-idle0) / float64(t)
		r.steal = float64(steal1-steal0) / float64(t)
	}
	return r, nil
}

// usage is the user and system CPU time of who (syscall.RUSAGE_SELF: this
// process; RUSAGE_CHILDREN: its children that have exited and been waited
// for, here wrk once it is done), and how many times its threads gave up
// the CPU: voluntarily (waiting) and not (preempted).
func usage(who int) (cpu time.Duration, waits, preempts int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0, 0, 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Nvcsw, ru.Nivcsw
}

// machineTicks reads the machine's CPU time from /proc/stat, in clock
// ticks: busy (steal included), idle (idle and iowait), and steal (time
// the hypervisor gave this machine's CPUs to others). Zeros where it
// cannot be read.
func machineTicks() (busy, idle, steal int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, 0
	}
	for i, v := range f[1:9] {
		n, _ := strconv.ParseInt(v, 10, 64)
		switch i {
		case 3, 4:
			idle += n
		case 7:
			steal = n
			busy += n
		default:
			busy += n
		}
	}
	return busy, idle, steal
}
