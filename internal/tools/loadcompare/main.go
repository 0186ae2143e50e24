// Command loadcompare measures keyward's authenticated endpoints against a
// bare net/http server answering 200, over loopback, on the same machine in
// the same run, alternating A B A B so that drift affects both alike.
//
//	go run ./internal/tools/loadcompare -d 5s -c 32
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/httpapi"
	"github.com/keyward/keyward/internal/jsonlog"
	"github.com/keyward/keyward/internal/service"
	"github.com/keyward/keyward/internal/store/sqlite"
)

func main() {
	dur := flag.Duration("d", 5*time.Second, "duration of each phase")
	conc := flag.Int("c", 32, "concurrent connections")
	rounds := flag.Int("r", 2, "A/B rounds")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	useWrk := flag.Bool("wrk", false, "load with wrk (apt-get install wrk) instead of Go clients in this process")
	mutexProfile := flag.String("mutexprofile", "", "write a mutex contention profile of the whole run to this file")
	only := flag.String("only", "", "run only the endpoints whose name contains this text (e.g. verify)")
	logTo := flag.String("logs", "file", "where keyward's request lines go: file (a real file, in batches, as keyward serve writes them) or discard (formatted, then dropped)")
	flag.Parse()
	if *mutexProfile != "" {
		runtime.SetMutexProfileFraction(1)
		defer writeProfile("mutex", *mutexProfile)
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*dur, *conc, *rounds, *useWrk, *only, *logTo); err != nil {
		fmt.Fprintln(os.Stderr, err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// writeProfile writes the named runtime profile to path.
func writeProfile(name, path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	err = pprof.Lookup(name).WriteTo(f, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}

func run(dur time.Duration, conc, rounds int, useWrk bool, only, logTo string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "loadcompare")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(ctx, dir+"/k.db")
	if err != nil {
		return err
	}
	// Request lines are written as keyward serve writes them, in batches,
	// to a real file (production's is a pipe, a file or a terminal).
	if logTo != "file" && logTo != "discard" {
		return fmt.Errorf("-logs %q: want file or discard", logTo)
	}
	logw := io.Writer(io.Discard)
	if logTo == "file" {
		f, err := os.Create(dir + "/keyward.log")
		if err != nil {
			return err
		}
		defer f.Close() //nolint:errcheck // a scratch log in a directory removed at the end
		logw = f
	}
	logs := jsonlog.NewBatchingHandler(logw, jsonlog.BatchEvery)
	defer logs.Close() //nolint:errcheck // writes the scratch log's last batch; nothing reads it
	log := slog.New(logs)
	svc, err := service.New(service.Config{Store: st, Pepper: []byte("pepper"), Logger: log})
	if err != nil {
		return err
	}
	res, err := svc.Bootstrap(ctx, service.BootstrapInput{OrgName: "Bench", Email: "b@example.com"})
	if err != nil {
		return err
	}
	owner := service.UserActor(res.User.ID, res.Org.ID, service.Origin{})
	p, err := svc.CreateProject(ctx, owner, keyward.CreateProjectInput{Name: "bench"})
	if err != nil {
		return err
	}
	k, err := svc.CreateKey(ctx, owner, service.Where{ProjectID: p.ID}, keyward.CreateKeyInput{Name: "bench"})
	if err != nil {
		return err
	}
	bgctx, stop := context.WithCancel(ctx)
	defer stop()
	go svc.Run(bgctx)

	kw := serve("keyward", httpapi.New(httpapi.Config{Service: svc, Logger: log}))
	bare := serve("bare", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The bare server does the least a server does; a client that
		// went away is not its failure.
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))

	verifyBody := []byte(`{"key":"` + k.Secret + `"}`)
	cases := []struct {
		name   string
		method string
		path   string
		body   []byte
	}{
		{"GET /v1/whoami", "GET", "/v1/whoami", nil},
		{"POST /v1/verify", "POST", "/v1/verify", verifyBody},
	}
	gen := "Go clients in this process"
	if useWrk {
		gen = "wrk"
	}
	fmt.Printf("%d connections, %v per phase, %d A/B rounds, GOMAXPROCS=%d, load from %s, keyward's request lines to %s\n\n", conc, dur, rounds, 0+runtimeProcs(), gen, logTo)
	loadOne := func(url, method string, body []byte) (result, error) {
		if useWrk {
			return loadWrk(url, method, body, k.Secret, conc, dur)
		}
		return load(url, method, body, k.Secret, conc, dur), nil
	}
	for _, c := range cases {
		if !strings.Contains(c.name, only) {
			continue
		}
		var a, b []result
		for r := 0; r < rounds; r++ {
			ra, err := loadOne(kw+c.path, c.method, c.body)
			if err != nil {
				return err
			}
			rb, err := loadOne(bare+c.path, c.method, c.body)
			if err != nil {
				return err
			}
			a, b = append(a, ra), append(b, rb)
		}
		ka, kb := merge(a), merge(b)
		fmt.Printf("%s\n  keyward: %8.0f req/s  p50 %v  p99 %v  errors %d\n  bare:    %8.0f req/s  p50 %v  p99 %v\n  keyward/bare throughput %.0f%%, p99 ratio %.2f\n",
			c.name, ka.rps, ka.p50, ka.p99, ka.errors, kb.rps, kb.p50, kb.p99, 100*ka.rps/kb.rps, float64(ka.p99)/float64(kb.p99))
		fmt.Printf("  per round (A then B): %s\n\n", roundRatios(a, b))
		if useWrk {
			fmt.Printf("  server CPU per request: keyward %v, bare %v\n", ka.cpuPerReq, kb.cpuPerReq)
			fmt.Printf("  wrk's CPU per request: keyward %v, bare %v\n", ka.loadCPUPerReq, kb.loadCPUPerReq)
			fmt.Printf("  server context switches per request (waiting + preempted): keyward %.2f + %.2f, bare %.2f + %.2f\n",
				ka.waitsPerReq, ka.preemptsPerReq, kb.waitsPerReq, kb.preemptsPerReq)
			fmt.Printf("  allocated per request: keyward %.0f B, bare %.0f B; collections per 10k requests: keyward %.2f, bare %.2f\n",
				ka.bytesPerReq, kb.bytesPerReq, ka.gcPer10k, kb.gcPer10k)
			fmt.Printf("  machine CPU left idle: keyward %.1f%%, bare %.1f%%; taken by the hypervisor (steal): keyward %.1f%%, bare %.1f%%\n\n",
				100*ka.idle, 100*kb.idle, 100*ka.steal, 100*kb.steal)
		}
	}
	return nil
}

// serve serves h on a loopback port. The goroutine of each connection is
// labelled server=name for CPU profiles (go tool pprof -tagfocus
// server=keyward) from its first request on, so that the two servers' costs,
// system calls included, can be told apart. Both pay the same for it.
func serve(name string, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	labelled := pprof.WithLabels(context.Background(), pprof.Labels("server", name))
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { //nolint:errcheck // serves until the process exits
		pprof.SetGoroutineLabels(labelled)
		h.ServeHTTP(w, r)
	}))
	return "http://" + ln.Addr().String()
}

type result struct {
	rps      float64
	p50, p99 time.Duration
	errors   int
	lat      []time.Duration
	// cpuPerReq is the server process's CPU time per request (wrk only:
	// otherwise the load generator shares the process).
	cpuPerReq time.Duration
	// The server process's context switches per request (wrk only):
	// its threads waiting for work, and preempted by the kernel.
	waitsPerReq, preemptsPerReq float64
	bytesPerReq                 float64       // bytes the process allocated per request (wrk only)
	gcPer10k                    float64       // garbage collections per 10,000 requests (wrk only)
	idle                        float64       // the share of the machine's CPU time left idle (wrk only)
	steal                       float64       // the share the hypervisor gave to other machines (wrk only)
	loadCPUPerReq               time.Duration // wrk's own CPU time per request (wrk only)
}

// load runs conc closed-loop clients for dur and measures every request.
func load(url, method string, body []byte, key string, conc int, dur time.Duration) result {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
	var mu sync.Mutex
	var all []time.Duration
	errors := 0
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			errs := 0
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest(method, url, bytes.NewReader(body))
				req.Header.Set("x-api-key", key)
				if body != nil {
					req.Header.Set("Content-Type", "application/json")
				}
				start := time.Now()
				res, err := client.Do(req)
				if err != nil {
					errs++
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body) // a short body shows in the status or the next request
				res.Body.Close()
				lat = append(lat, time.Since(start))
				if res.StatusCode != 200 {
					errs++
				}
			}
			mu.Lock()
			all = append(all, lat...)
			errors += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	client.CloseIdleConnections()
	return summarize(all, errors, dur)
}

// roundRatios lists keyward/bare throughput of each A/B round and their
// median: a round's two phases run back to back, so the machine's drift
// (a virtual machine's neighbours) moves them together, and the median
// drops the rounds it did not.
func roundRatios(a, b []result) string {
	ratios := make([]float64, len(a))
	var s strings.Builder
	for i := range a {
		ratios[i] = 100 * a[i].rps / b[i].rps
		fmt.Fprintf(&s, "%.0f%% ", ratios[i])
	}
	slices.Sort(ratios)
	m := ratios[len(ratios)/2]
	if len(ratios)%2 == 0 {
		m = (ratios[len(ratios)/2-1] + m) / 2
	}
	fmt.Fprintf(&s, "(median %.0f%%)", m)
	return s.String()
}

func summarize(lat []time.Duration, errors int, dur time.Duration) result {
	slices.Sort(lat)
	r := result{rps: float64(len(lat)) / dur.Seconds(), errors: errors, lat: lat}
	if len(lat) > 0 {
		r.p50, r.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	return r
}

func merge(rs []result) result {
	var lat []time.Duration
	var errs int
	var rps float64
	for _, r := range rs {
		lat = append(lat, r.lat...)
		errs += r.errors
		rps += r.rps
	}
	m := summarize(lat, errs, time.Second)
	m.rps = rps / float64(len(rs))
	if len(lat) == 0 { // wrk reports percentiles, not samples: average them
		m.p50, m.p99 = 0, 0
		for _, r := range rs {
			m.p50 += r.p50 / time.Duration(len(rs))
			m.p99 += r.p99 / time.Duration(len(rs))
			m.cpuPerReq += r.cpuPerReq / time.Duration(len(rs))
			m.waitsPerReq += r.waitsPerReq / float64(len(rs))
			m.preemptsPerReq += r.preemptsPerReq / float64(len(rs))
			m.bytesPerReq += r.bytesPerReq / float64(len(rs))
			m.gcPer10k += r.gcPer10k / float64(len(rs))
			m.idle += r.idle / float64(len(rs))
			m.steal += r.steal / float64(len(rs))
			m.loadCPUPerReq += r.loadCPUPerReq / time.Duration(len(rs))
		}
	}
	return m
}
