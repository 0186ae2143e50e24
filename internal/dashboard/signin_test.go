package dashboard_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
)

// browserFrom is a browser whose connections come from ip, an address of
// 127.0.0.0/8 other than the server's, so that tests can sign in from
// several client addresses.
func browserFrom(t *testing.T, srv *kwtest.Server, ip string) *browser {
	t.Helper()
	l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.ParseIP(ip)})
	if err != nil { // Linux routes all of 127.0.0.0/8 to lo; other systems need an alias
		t.Skipf("cannot use the loopback address %s here (%v)", ip, err)
	}
	l.Close()
	b := newBrowser(t, srv)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}).DialContext
	t.Cleanup(tr.CloseIdleConnections)
	b.c.Transport = tr
	return b
}

// loginsInParallel sends one sign-in per browser at the same moment and
// returns the responses in order. email(i) is browser i's email.
func loginsInParallel(bs []*browser, email func(i int) string, passwords []string) []*resp {
	out := make([]*resp, len(bs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range bs {
		wg.Go(func() {
			<-start
			out[i] = bs[i].login(email(i), passwords[i])
		})
	}
	close(start)
	wg.Wait()
	return out
}

func owner(int) string { return kwtest.OwnerEmail }

// wantThrottled checks that a refused sign-in is a 429 sign-in page that
// says so, with Retry-After.
func wantThrottled(t *testing.T, r *resp) {
	t.Helper()
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" ||
		!strings.Contains(r.Body, "try again") || !strings.Contains(r.Body, `action="/login"`) {
		t.Errorf("status %d, Retry-After %q; want 429 on the sign-in page with Retry-After\n%s", r.StatusCode, r.Header.Get("Retry-After"), r.Body)
	}
}

// Attempts are counted before the password is checked: guesses sent in
// parallel from one address cannot all be checked against one limit, and
// once the limit is used even the right password is refused from there.
func TestParallelGuessesCountedBeforeChecking(t *testing.T) {
	srv := kwtest.NewServer(t)
	const n = 20
	bs := make([]*browser, n)
	pw := make([]string, n)
	for i := range bs {
		bs[i], pw[i] = browserFrom(t, srv, "127.0.0.2"), fmt.Sprintf("wrong guess %d", i)
	}
	var checked int
	for _, r := range loginsInParallel(bs, owner, pw) {
		switch r.StatusCode {
		case http.StatusUnauthorized:
			checked++
		default:
			wantThrottled(t, r)
		}
	}
	t.Logf("%d parallel wrong passwords: %d checked (401), %d refused (429)", n, checked, n-checked)
	if checked < 1 || checked > 5 {
		t.Fatalf("%d of %d parallel guesses were checked; want 1 to 5 (the limit)", checked, n)
	}
	// Every attempt counted, checked or refused, so the address's 5 on the
	// account are used. Now 29 guesses in parallel, the right password
	// among them: none gets in.
	bs = append(bs, bs[:9]...)
	pw = append(pw, pw[:9]...)
	pw[17] = kwtest.OwnerPassword
	for i, r := range loginsInParallel(bs, owner, pw) {
		if r.StatusCode == http.StatusSeeOther || bs[i].sessionCookie() != nil {
			t.Fatalf("guess %d signed in after the limit was used", i)
		}
		wantThrottled(t, r)
	}
}

// Knowing someone's email is not enough to lock them out: failures from
// other addresses never refuse the right password from theirs.
func TestFailuresElsewhereDoNotLockOutTheAccount(t *testing.T) {
	srv := kwtest.NewServer(t)
	// One attacker address uses up its 5 attempts on the owner's account
	// (the old limit of the whole account) and is refused from then on.
	a1 := browserFrom(t, srv, "127.0.0.2")
	for i := range 5 {
		if r := a1.login(kwtest.OwnerEmail, fmt.Sprintf("guess %d", i)); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attacker guess %d: status %d, want 401", i, r.StatusCode)
		}
	}
	wantThrottled(t, a1.login(kwtest.OwnerEmail, "guess 5"))
	// A second attacker address is slowed, not refused, on its first
	// guess, and refused while the account is busy after its failure.
	a2 := browserFrom(t, srv, "127.0.0.3")
	if r := a2.login(kwtest.OwnerEmail, "guess 6"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("second attacker's first guess: status %d, want 401", r.StatusCode)
	}
	wantThrottled(t, a2.login(kwtest.OwnerEmail, "guess 7"))

	// The owner, from an address that has not been failing, signs in.
	owner := newBrowser(t, srv)
	start := time.Now()
	r := owner.login(kwtest.OwnerEmail, kwtest.OwnerPassword)
	if r.StatusCode != http.StatusSeeOther || owner.sessionCookie() == nil {
		t.Fatalf("the owner's right password after the attack: status %d, want 303\n%s", r.StatusCode, r.Body)
	}
	t.Logf("the owner signed in after waiting %v for the account's turn", time.Since(start).Round(time.Millisecond))
	// The first attacker's address stays refused, right password or not.
	wantThrottled(t, a1.login(kwtest.OwnerEmail, kwtest.OwnerPassword))
}

// heapBytes reads the bytes of heap objects, live or not yet swept.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// peakRSS returns the process's peak resident set (VmHWM) in bytes, and
// resetPeakRSS starts it again from the current RSS (Linux only; 0 elsewhere).
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		var kb uint64
		if n, _ := fmt.Sscanf(line, "VmHWM: %d kB", &kb); n == 1 {
			return kb << 10
		}
	}
	return 0
}

func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// 150 sign-ins at once with unknown emails, from 150 addresses, with the
// production argon2id parameters (19 MiB per hash): the hashing memory
// stays bounded by the hash slots, the surplus is refused at once with 429
// and Retry-After, and the API keeps answering throughout.
func TestSignInFloodKeepsMemoryBoundedAndAPIAnswering(t *testing.T) {
	srv := kwtest.NewServer(t)
	p := srv.MustProject(t, "Shop")
	key := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "api"})
	const n = 150
	bs := make([]*browser, n)
	pw := make([]string, n)
	for i := range bs {
		bs[i], pw[i] = browserFrom(t, srv, fmt.Sprintf("127.0.1.%d", i+1)), "wrong password"
	}

	runtime.GC()
	base := heapBytes()
	resetPeakRSS()
	rssBase := peakRSS()

	// Sample the heap while the flood runs, and call the API.
	done := make(chan struct{})
	var peak atomic.Uint64
	var sampler, caller sync.WaitGroup
	sampler.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if h := heapBytes(); h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	var lat []time.Duration
	var apiFailures []string
	caller.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/whoami", nil)
			req.Header.Set("x-api-key", key.Secret)
			t0 := time.Now()
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				apiFailures = append(apiFailures, err.Error())
				continue
			}
			res.Body.Close()
			lat = append(lat, time.Since(t0))
			if res.StatusCode != http.StatusOK {
				apiFailures = append(apiFailures, res.Status)
			}
		}
	})
	flood := time.Now()
	rs := loginsInParallel(bs, func(i int) string { return fmt.Sprintf("nobody%d@example.com", i) }, pw)
	took := time.Since(flood)
	close(done)
	sampler.Wait()
	caller.Wait()

	var checked, refused int
	for _, r := range rs {
		switch r.StatusCode {
		case http.StatusUnauthorized:
			checked++
		default:
			refused++
			wantThrottled(t, r)
		}
	}
	slices.Sort(lat)
	pct := func(q float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(q*float64(len(lat))))].Round(10 * time.Microsecond)
	}
	const argonMiB = 19 << 20
	slots := min(4, max(1, runtime.GOMAXPROCS(0)/2)) // the server's hash slots (service.hashSlots)
	t.Logf("%d sign-ins in %v: %d checked (401), %d refused (429); hash slots %d", n, took.Round(time.Millisecond), checked, refused, slots)
	t.Logf("heap objects: %.1f MiB before, peak %.1f MiB; peak RSS %.1f MiB (from %.1f MiB)",
		float64(base)/(1<<20), float64(peak.Load())/(1<<20), float64(peakRSS())/(1<<20), float64(rssBase)/(1<<20))
	t.Logf("GET /v1/whoami during the flood: %d requests, p50 %v, p99 %v, max %v", len(lat), pct(0.50), pct(0.99), pct(1))

	if len(apiFailures) > 0 || len(lat) == 0 {
		t.Errorf("the API failed during the flood (%d answers): %v", len(lat), apiFailures)
	}
	if refused == 0 {
		t.Error("no sign-in was refused: the hashing is not bounded")
	}
	// At most slots hashes hold 19 MiB at once. The collector lets the
	// heap grow to twice what it found live (which may include slots
	// hashes) and slots more hashes may start before it finishes: allow
	// that, and 48 MiB for the rest (connections, pages, garbage of the
	// API calls). Unbounded, 150 hashes would hold 2.8 GiB.
	if bound := 2*(base+uint64(slots)*argonMiB) + uint64(slots)*argonMiB + 48<<20; peak.Load() > bound {
		t.Errorf("heap peaked at %d MiB during the flood; want at most %d MiB (%d hash slots of 19 MiB)", peak.Load()>>20, bound>>20, slots)
	}
}
