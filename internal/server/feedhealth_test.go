package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/kwtest/faultnet"
	"github.com/keyward/keyward/internal/kwtest/instance"
	"github.com/keyward/keyward/internal/service"
)

// A feed that goes silent without an error (its connection blackholed, as
// by a partition or a NAT that forgot it; Redis paused for writes, as in a
// failover) is found by its heartbeat: logged, reported down by /readyz and
// /metrics, and up again once it is back. The node stays ready and its
// cache lease held meanwhile: the lease, not the feed, bounds staleness.
func TestSilentFeedsAreReported(t *testing.T) {
	pg := instance.NewPostgres(t)
	rd := instance.NewRedis(t)
	db := faultnet.Start(t, pg.Addr(), faultnet.Mark{Name: "listen", Pattern: "LISTEN "})
	dbURL := "postgres://postgres@" + db.Addr() + "/postgres?sslmode=disable"

	var logs kwtest.LogBuffer
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := New(ctx, Config{Database: dbURL, Redis: "redis://" + rd.Addr() + "/0"}, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	url := serveLoopback(t, ctx, cancel, srv)

	want := func(what string, postgres, redis string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second) // a hang guard: a heartbeat takes up to 2 s
		for {
			// The node reads its change log all along (the database is
			// fine): within the lease, renewed once per L.
			r := readyz(t, url)
			if r.Feeds["postgres"] == postgres && r.Feeds["redis"] == redis && r.ReadAgoMS != nil && *r.ReadAgoMS <= 2*r.CacheLeaseMS {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: /readyz reports %+v, want postgres %s and redis %s\nlog:\n%s", what, r, postgres, redis, logs.String())
			}
			time.Sleep(20 * time.Millisecond) // the state has no signal of its own
		}
	}
	want("at start", "up", "up")

	db.SetMark("listen", faultnet.Blackhole)
	want("LISTEN connection blackholed", "down", "up")
	if m := metricsOf(t, url); !strings.Contains(m, `keyward_invalidation_feed_up{feed="postgres"} 0`) {
		t.Fatalf("/metrics with the LISTEN connection blackholed:\n%s", grepLines(m, "feed_up"))
	}
	if !strings.Contains(logs.String(), "invalidation feed down") {
		t.Fatalf("the dead feed was not logged:\n%s", logs.String())
	}
	db.ClearMark("listen")
	want("LISTEN connection back", "up", "up")

	admin := redis.NewClient(&redis.Options{Addr: rd.Addr()})
	defer admin.Close()
	if err := admin.Do(context.Background(), "CLIENT", "PAUSE", "20000", "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	want("Redis paused for writes", "up", "down")
	if m := metricsOf(t, url); !strings.Contains(m, `keyward_invalidation_feed_up{feed="redis"} 0`) {
		t.Fatalf("/metrics with Redis paused:\n%s", grepLines(m, "feed_up"))
	}
	if err := admin.Do(context.Background(), "CLIENT", "UNPAUSE").Err(); err != nil {
		t.Fatal(err)
	}
	want("Redis resumed", "up", "up")
}

type readiness struct {
	Status       string            `json:"status"`
	Feeds        map[string]string `json:"feeds"`
	CacheLeaseMS int64             `json:"cache_lease_ms"`
	ReadAgoMS    *int64            `json:"change_log_read_ago_ms"`
}

func readyz(t *testing.T, url string) readiness {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	res, err := c.Get(url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r readiness
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("/readyz: %d %+v", res.StatusCode, r)
	}
	return r
}

func metricsOf(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A request that is not answered from the key cache (here listing
// projects) ends with 503 while the database hangs, within its deadline,
// instead of waiting for the database: so do /readyz (within a second) and
// the dashboard.
func TestRequestsEndWhileTheDatabaseHangs(t *testing.T) {
	pg := instance.NewPostgres(t)
	db := faultnet.Start(t, pg.Addr())
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := New(ctx, Config{Database: "postgres://postgres@" + db.Addr() + "/postgres?sslmode=disable"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	boot, err := srv.Service.Bootstrap(ctx, service.BootstrapInput{OrgName: "Acme", Email: "o@example.com", Password: "a long password"})
	if err != nil {
		t.Fatal(err)
	}
	session, _, err := srv.Service.Login(ctx, "o@example.com", "a long password", service.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	url := serveLoopback(t, ctx, cancel, srv)
	t.Cleanup(func() { db.Set(faultnet.Pass) }) // runs first: the server stops with its database back

	get := func(path string) (int, time.Duration) {
		req, _ := http.NewRequest("GET", url+path, nil)
		req.Header.Set("Authorization", "Bearer "+boot.OrgKey.Secret)
		req.AddCookie(&http.Cookie{Name: "keyward_session", Value: session})
		c := &http.Client{Timeout: 30 * time.Second, // a hang guard, far above the deadlines
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		start := time.Now()
		res, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, time.Since(start)
	}
	for _, path := range []string{"/v1/org/projects", "/orgs/" + boot.Org.ID + "/projects"} {
		if code, _ := get(path); code != 200 {
			t.Fatalf("GET %s before the freeze: %d", path, code)
		}
	}
	db.Set(faultnet.Blackhole)
	for _, c := range []struct {
		path string
		max  time.Duration
	}{
		// The dashboard first, while the pool still holds connections
		// that were fine: its query is sent, and nothing comes back.
		{"/orgs/" + boot.Org.ID + "/projects", 12 * time.Second},
		{"/v1/org/projects", 12 * time.Second},
		{"/readyz", 2 * time.Second},
	} {
		code, took := get(c.path)
		t.Logf("GET %s with the database frozen: %d after %v", c.path, code, took.Round(time.Millisecond))
		if code == 200 {
			t.Errorf("GET %s answered 200 with the database frozen", c.path)
		}
		if took > c.max {
			t.Errorf("GET %s took %v with the database frozen, more than %v", c.path, took, c.max)
		}
	}
}
