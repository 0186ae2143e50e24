package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Propagation under a saturating load: the rounds of TestNodesPostgresNotify
// and TestNodesRedis while wrk, in processes of its own, keeps every node
// busy with valid verifications (16 connections per node), so the nodes,
// the hammer and wrk compete for every core. The numbers go to
// docs/performance.md; like the other variants, only a feed that does not
// deliver at all fails the test. Without wrk on the PATH it skips.

// saturatingConns is how many connections wrk keeps open to each node.
const saturatingConns = 16

func TestNodesSaturatedNotify(t *testing.T) {
	saturated(t, "", "PostgreSQL LISTEN/NOTIFY under saturating load")
}

func TestNodesSaturatedRedis(t *testing.T) {
	redisURL := os.Getenv("KEYWARD_TEST_REDIS")
	if redisURL == "" {
		t.Skip("KEYWARD_TEST_REDIS not set: skipping the saturated Redis feed test")
	}
	saturated(t, redisURL, "Redis pub/sub (and NOTIFY) under saturating load")
}

func saturated(t *testing.T, redisURL, name string) {
	if os.Getenv("KEYWARD_TEST_SATURATED") == "" {
		t.Skip("a measurement of about a minute: set KEYWARD_TEST_SATURATED=1 to run it (docs/performance.md)")
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("wrk not on the PATH (apt-get install wrk): skipping the saturated propagation test")
	}
	c := newCluster(t, redisURL)
	stop := c.saturate(t, wrk)
	h := c.newHammer(t, false)
	for range rounds {
		h.round(t, "saturated")
	}
	s := h.finish(t)
	t.Log(stop())
	checkBound(t, report(t, name, s.lags["saturated"]))
	reportAcceptance(t, h, "saturated")
	reportSlowest(t, h, "saturated", 5)
}

// reportSlowest splits the k longest propagation lags of a phase into when
// the first refusing request was sent (after the revoke returned) and how
// long the node took to answer it: a lag made of a long answer is a request
// that waited (for the catch-up read, the store, the CPU), not a node that
// kept accepting.
func reportSlowest(t *testing.T, h *hammer, phase string, k int) {
	t.Helper()
	type sample struct{ lag, sent, took time.Duration }
	var all []sample
	for _, tg := range h.all {
		if tg.phase != phase || tg.revoked.IsZero() {
			continue
		}
		var first [3]*answer
		for i := range tg.answers {
			a := &tg.answers[i]
			if a.out == refused && (first[a.node] == nil || a.got.Before(first[a.node].got)) {
				first[a.node] = a
			}
		}
		for node, a := range first {
			if a != nil && node != tg.via {
				all = append(all, sample{a.got.Sub(tg.revoked), a.sent.Sub(tg.revoked), a.got.Sub(a.sent)})
			}
		}
	}
	slices.SortFunc(all, func(a, b sample) int { return int(b.lag - a.lag) })
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	for _, s := range all[:min(k, len(all))] {
		line := fmt.Sprintf("revocation propagation, %s: lag %v = first refusing request sent %v after the revoke returned + answered in %v",
			phase, r(s.lag), r(s.sent), r(s.took))
		t.Log(line)
		fmt.Println(line)
	}
}

// saturate starts one wrk per node, verifying the cluster's verifier key
// with itself (a valid key: no failed authentication, no throttling), and
// returns a function that stops them and says how many requests they made.
func (c *cluster) saturate(t *testing.T, wrk string) func() string {
	t.Helper()
	script := filepath.Join(t.TempDir(), "verify.lua")
	lua := fmt.Sprintf("wrk.method = \"POST\"\nwrk.body = '{\"key\":\"%s\"}'\n"+
		"wrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.headers[\"x-api-key\"] = \"%s\"\n", c.verifier, c.verifier)
	if err := os.WriteFile(script, []byte(lua), 0o600); err != nil {
		t.Fatal(err)
	}
	type load struct {
		cmd *exec.Cmd
		out bytes.Buffer
	}
	var loads []*load
	for _, n := range c.nodes {
		l := &load{cmd: exec.Command(wrk, "-t1", fmt.Sprintf("-c%d", saturatingConns), "-d1h", "-s", script, n.url+"/v1/verify")}
		l.cmd.Stdout = &l.out
		dieWithParent(l.cmd)
		if err := l.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		loads = append(loads, l)
	}
	var once sync.Once
	var summary string
	stop := func() string {
		once.Do(func() {
			var rates []string
			for i, l := range loads {
				_ = l.cmd.Process.Signal(syscall.SIGINT) // wrk prints its summary and exits
				_ = l.cmd.Wait()
				rate := "?"
				for _, line := range strings.Split(l.out.String(), "\n") {
					if f := strings.Fields(line); len(f) == 2 && f[0] == "Requests/sec:" {
						rate = f[1]
					}
				}
				rates = append(rates, fmt.Sprintf("node %d %s/s", i, rate))
			}
			summary = "saturating load (wrk, " + fmt.Sprint(saturatingConns) + " connections per node): " + strings.Join(rates, ", ")
		})
		return summary
	}
	t.Cleanup(func() { stop() })
	return stop
}

// reportAcceptance prints, for the nodes that did not revoke, the latest
// acceptance of a key after its revoke returned (by when the request was
// sent): what the lease bounds, where the propagation lag is the first
// refusal. Reported, not asserted (TestNodesFaults asserts the bound).
func reportAcceptance(t *testing.T, h *hammer, phase string) {
	t.Helper()
	var latest time.Duration
	var trips []time.Duration // every answer's round trip, for the share of the lag that is the request itself
	n := 0
	for _, tg := range h.all {
		if tg.phase != phase {
			continue
		}
		for _, a := range tg.answers {
			trips = append(trips, a.got.Sub(a.sent))
			if !tg.revoked.IsZero() && a.out == accepted && a.node != tg.via && a.sent.After(tg.revoked) {
				n++
				latest = max(latest, a.sent.Sub(tg.revoked))
			}
		}
	}
	if len(trips) == 0 {
		t.Fatalf("%s: no answers", phase)
	}
	slices.Sort(trips)
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	line := fmt.Sprintf("revocation propagation, %s: %d accepted answers sent after a revoke returned, the latest sent %v after it; "+
		"the hammer's requests took p50 %v, p99 %v, max %v",
		phase, n, r(latest), r(trips[len(trips)/2]), r(trips[len(trips)*99/100]), r(trips[len(trips)-1]))
	t.Log(line)
	fmt.Println(line)
}
