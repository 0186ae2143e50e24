package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest/faultnet"
)

// Open-loop load on a node whose database hangs: requests keep arriving at
// a fixed rate whatever the node does with them, as from many independent
// clients. A node that waits for the database without a deadline piles
// them up (about 1,500 goroutines at 300 requests/s before cache leases),
// and its /readyz hung for 10 s. Every request and every /readyz must be
// answered within answerBound, and the goroutines stay within
// goroutineBound.
const (
	loadRate   = 300             // requests per second, each sent on schedule, answered or not
	loadFrozen = 8 * time.Second // how long the node's database is blackholed
	// A request's deadlines on this path add up to 1.2 s (the shared
	// catch-up's 200 ms, then a 1 s store read); the rest is room for
	// three race-instrumented servers and the load on 2 shared cores
	// (answers took up to 2.3 s in CI, 1.4 s on a quiet machine).
	answerBound = 3 * time.Second
	// inFlight is how long requests stay in the node on average, at most:
	// the deadlines' 1.2 s and some queueing.
	inFlight = 2 * time.Second
)

// goroutineBound is how many goroutines more than at rest the node may
// have under the load with its database frozen. By Little's law a node
// whose requests stay inFlight on average has loadRate × inFlight of them
// in flight (600); each holds its connection's goroutine and, say, one
// helper, so 1,200. The 100 beyond cover the node's own work (pool dials,
// feed reconnects, timers). Before cache leases a node held every request
// from the moment its cache went off (about 3 s into the freeze) until the
// database came back: some 1,500 requests in flight by the end of an 8 s
// freeze, one goroutine each, and answers up to 5 s late.
const goroutineBound = 2*loadRate*int(inFlight/time.Second) + 100

// drainSlack is how far above its goroutines at rest a node may stay once
// the load has ended and its clients have closed their connections.
const drainSlack = 20

func TestNodesFrozenDatabaseLoad(t *testing.T) {
	fc := newFaultCluster(t, [3]bool{})
	n := fc.nodes[1]
	k, err := fc.org.Org().ProjectKeys(fc.project).Create(context.Background(), keyward.CreateKeyInput{Name: "loaded"})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(keyward.VerifyInput{Key: k.Secret})
	fc.waitHealthy(t, 30*time.Second)
	rest := nodeMetrics(t, n).goroutines
	t.Logf("node 1 at rest: %d goroutines", rest)

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	load := startOpenLoop(ctx, n, fc.verifier, body)
	time.Sleep(time.Second) // under load before the failure; nothing to wait for

	fc.db[1].Set(faultnet.Blackhole)
	frozen := time.Now()
	healed := false
	heal := func() {
		if !healed {
			fc.db[1].Set(faultnet.Pass)
			healed = true
		}
	}
	defer heal()

	probes := probeReadyz(n, loadFrozen)
	peak, peakHeap := rest, 0.0
	var metricsErrs []string
	for time.Since(frozen) < loadFrozen+time.Second { // and one second after it heals
		if time.Since(frozen) >= loadFrozen {
			heal()
		}
		m, err := tryNodeMetrics(n)
		if err != nil {
			metricsErrs = append(metricsErrs, fmt.Sprintf("%v after the freeze: %v", time.Since(frozen).Round(time.Millisecond), err))
		} else {
			peak, peakHeap = max(peak, m.goroutines), max(peakHeap, m.heapInuse)
		}
		time.Sleep(100 * time.Millisecond) // a sampling interval
	}
	heal()
	stop()
	res := load.wait()

	// The load's connections end with it, so that what stays is the node's.
	load.hc.CloseIdleConnections()
	probeClient.CloseIdleConnections()
	drained, after := false, 0
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) { // no signal to wait on
		after = nodeMetrics(t, n).goroutines
		if after <= rest+drainSlack {
			drained = true
			break
		}
	}

	t.Logf("open-loop load on node 1 at %d requests/s, its database blackholed for %v: %d requests, statuses %v; answered in p50 %v, p99 %v, max %v",
		loadRate, loadFrozen, res.sent, res.statuses, res.percentile(.50), res.percentile(.99), res.percentile(1))
	t.Logf("node 1: %d goroutines at rest, %d at the peak (bound %d more than at rest), %d after the load; heap in use at the peak %.1f MiB",
		rest, peak, goroutineBound, after, peakHeap/(1<<20))
	t.Logf("/readyz during the freeze: %s", probes.summary())

	if slow := res.slowerThan(answerBound); slow > 0 {
		t.Errorf("%d of %d requests to node 1 were answered after more than %v (the slowest after %v): a wait on the request path has no deadline, or too long a one",
			slow, res.sent, answerBound, res.percentile(1))
	}
	if len(res.unexpected) > 0 {
		t.Errorf("%d of %d requests were not answered 200 or 503, e.g. %v", res.nUnexpected, res.sent, res.unexpected)
	}
	for _, e := range metricsErrs {
		t.Errorf("node 1's /metrics did not answer within %v while its database was frozen: %s", answerBound, e)
	}
	if peak > rest+goroutineBound {
		t.Errorf("node 1 had %d goroutines under load with its database frozen, %d at rest: more than %d above (%d requests/s in flight %v on average, two goroutines each)",
			peak, rest, goroutineBound, loadRate, inFlight)
	}
	if !drained {
		t.Errorf("node 1 still had %d goroutines 15 s after the load ended, %d at rest", after, rest)
	}
	if f := probes.failures(); len(f) > 0 {
		t.Errorf("node 1's /readyz during the freeze: %d of %d probes not answered within %v, e.g. %v", len(f), probes.count(), answerBound, f[:min(3, len(f))])
	}
}

// metrics is what the tests read from a node's /metrics.
type metrics struct {
	goroutines int
	heapInuse  float64
}

var probeClient = &http.Client{Timeout: answerBound}

func nodeMetrics(t *testing.T, n *node) metrics {
	t.Helper()
	m, err := tryNodeMetrics(n)
	if err != nil {
		t.Fatalf("node %d: %v", n.i, err)
	}
	return m
}

func tryNodeMetrics(n *node) (metrics, error) {
	res, err := probeClient.Get(n.url + "/metrics")
	if err != nil {
		return metrics{}, err
	}
	defer res.Body.Close()
	var m metrics
	found := false
	lines := bufio.NewScanner(res.Body)
	for lines.Scan() {
		name, value, _ := strings.Cut(lines.Text(), " ")
		switch name {
		case "go_goroutines":
			v, err := strconv.Atoi(value)
			if err != nil {
				return metrics{}, fmt.Errorf("go_goroutines %q: %w", value, err)
			}
			m.goroutines, found = v, true
		case "go_memstats_heap_inuse_bytes":
			m.heapInuse, _ = strconv.ParseFloat(value, 64)
		}
	}
	if !found {
		return metrics{}, fmt.Errorf("/metrics (status %d) has no go_goroutines", res.StatusCode)
	}
	return m, lines.Err()
}

// openLoop is a load that sends requests on a fixed schedule.
type openLoop struct {
	hc   *http.Client
	wg   sync.WaitGroup
	done chan struct{} // closed when the schedule has stopped

	mu          sync.Mutex
	sent        int
	statuses    map[int]int
	latencies   []time.Duration
	unexpected  []string // the first few answers other than 200 and 503
	nUnexpected int
}

// startOpenLoop sends POST /v1/verify with body to n, loadRate times a
// second, until ctx ends.
func startOpenLoop(ctx context.Context, n *node, verifier string, body []byte) *openLoop {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 1000
	l := &openLoop{hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}, // a hang guard
		done: make(chan struct{}), statuses: map[int]int{}}
	go func() {
		defer close(l.done)
		start := time.Now()
		timer := time.NewTimer(0)
		defer timer.Stop()
		for i := 0; ; i++ {
			timer.Reset(time.Until(start.Add(time.Duration(i) * time.Second / loadRate)))
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			l.wg.Add(1)
			go l.send(n, verifier, body)
		}
	}()
	return l
}

func (l *openLoop) send(n *node, verifier string, body []byte) {
	defer l.wg.Done()
	req, _ := http.NewRequest("POST", n.url+"/v1/verify", bytes.NewReader(body))
	req.Header.Set("x-api-key", verifier)
	req.Header.Set("Content-Type", "application/json")
	sent := time.Now()
	res, err := l.hc.Do(req)
	status, detail := 0, ""
	if err != nil {
		detail = err.Error()
	} else {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		status, detail = res.StatusCode, fmt.Sprintf("%d %.200s", res.StatusCode, b)
	}
	took := time.Since(sent)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent++
	l.statuses[status]++
	l.latencies = append(l.latencies, took)
	if status != 200 && status != 503 {
		l.nUnexpected++
		if len(l.unexpected) < 5 {
			l.unexpected = append(l.unexpected, detail)
		}
	}
}

// wait waits until the schedule has stopped and every request is
// answered, and returns the load's records.
func (l *openLoop) wait() *openLoop {
	<-l.done
	l.wg.Wait()
	slices.Sort(l.latencies)
	return l
}

// slowerThan counts the answers that took longer than d.
func (l *openLoop) slowerThan(d time.Duration) int {
	i, _ := slices.BinarySearch(l.latencies, d+1)
	return len(l.latencies) - i
}

// percentile is the nearest-rank percentile p of the answer times (1: the
// slowest).
func (l *openLoop) percentile(p float64) time.Duration {
	if len(l.latencies) == 0 {
		return 0
	}
	return l.latencies[max(0, int(float64(len(l.latencies))*p+0.999999)-1)].Round(100 * time.Microsecond)
}

// readyzProbes are /readyz answers taken during a failure.
type readyzProbes struct {
	mu      sync.Mutex
	done    chan struct{}
	took    []time.Duration
	answers map[string]int // status, or the error
	slow    []string
}

// probeReadyz asks n for /readyz every 250 ms for d, each time on a new
// connection with a client timeout of answerBound, and returns once it
// has finished.
func probeReadyz(n *node, d time.Duration) *readyzProbes {
	p := &readyzProbes{done: make(chan struct{}), answers: map[string]int{}}
	hc := &http.Client{Timeout: answerBound, Transport: &http.Transport{DisableKeepAlives: true}}
	go func() {
		defer close(p.done)
		var wg sync.WaitGroup
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for end := time.Now().Add(d); time.Now().Before(end); <-tick.C {
			wg.Add(1)
			go func(at time.Time) { // probes overlap: one hanging does not delay the next
				defer wg.Done()
				res, err := hc.Get(n.url + "/readyz")
				took := time.Since(at)
				answer := ""
				if err != nil {
					answer = "no answer"
				} else {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					answer = strconv.Itoa(res.StatusCode)
				}
				p.mu.Lock()
				defer p.mu.Unlock()
				p.took = append(p.took, took)
				p.answers[answer]++
				if err != nil || took > answerBound {
					p.slow = append(p.slow, fmt.Sprintf("a probe got %s after %v (bound %v)", answer, took.Round(time.Millisecond), answerBound))
				}
			}(time.Now())
		}
		wg.Wait()
	}()
	return p
}

func (p *readyzProbes) summary() string {
	<-p.done
	return fmt.Sprintf("%d probes, answers %v, slowest %v", len(p.took), p.answers, slices.Max(append(p.took, 0)).Round(time.Millisecond))
}

// failures describes the probes not answered within answerBound.
func (p *readyzProbes) failures() []string {
	<-p.done
	if len(p.took) == 0 {
		return []string{"no probe was sent"}
	}
	return p.slow
}

func (p *readyzProbes) count() int {
	<-p.done
	return len(p.took)
}
