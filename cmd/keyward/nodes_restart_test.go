package main

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// envPGRestart allows TestNodesPostgresRestart to restart the PostgreSQL
// server. Off by default: every other test using that server at the same
// time (go test ./... runs packages in parallel) would fail. CI runs this
// test alone, after the others (.ci/run).
const envPGRestart = "KEYWARD_TEST_PG_RESTART"

// restartRounds is how many keys each cluster revokes before the restart,
// and again after it.
const restartRounds = 12

// A real PostgreSQL restart (pg_ctlcluster, Debian's wrapper) under
// continuous requests on three nodes, with the PostgreSQL feed and, when
// KEYWARD_TEST_REDIS is set, on three more with the Redis feed (which stays
// up while the database is gone). Keys revoked before the restart stay
// refused through it; a key every node accepts is revoked as soon as the
// server is back; while it is down the nodes fail closed (503, never 200
// for a revoked key, never 500); and every node recovers, ready with its
// feed up and propagating revocations, without a restart of its own.
func TestNodesPostgresRestart(t *testing.T) {
	if os.Getenv(envPGRestart) != "1" {
		t.Skip(envPGRestart + "=1 not set: this test restarts the PostgreSQL server, which would break the tests of other packages running at the same time")
	}
	version := pgVersion(t)
	restartPostgres(t, func([]*cluster) {
		out, err := exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast").CombinedOutput()
		if err != nil {
			t.Fatalf("pg_ctlcluster restart: %v\n%s", err, out)
		}
	})
}

// restartPostgres runs the restart test around restart, which returns
// once the server is restarting or restarted.
func restartPostgres(t *testing.T, restart func([]*cluster)) {
	type run struct {
		name string
		c    *cluster
		h    *hammer
		v    *target // accepted everywhere, asked about through the restart
	}
	runs := []*run{{name: "PostgreSQL feed", c: newCluster(t, "")}}
	if redisURL := os.Getenv("KEYWARD_TEST_REDIS"); redisURL != "" {
		runs = append(runs, &run{name: "Redis feed", c: newCluster(t, redisURL)})
	}
	for _, r := range runs {
		r.h = r.c.newHammer(t, true) // nodes must fail closed while the server is down
	}
	for range restartRounds {
		for _, r := range runs {
			r.h.round(t, "before")
		}
	}
	for _, r := range runs {
		r.v = r.h.publish(t, "restart")
	}

	down := time.Now()
	var cs []*cluster
	for _, r := range runs {
		cs = append(cs, r.c)
	}
	restart(cs)
	waitPostgres(t)
	up := time.Now()
	t.Logf("PostgreSQL restarted in %v", up.Sub(down).Round(time.Millisecond))

	for _, r := range runs {
		r.h.revoke(t, r.v, true)
	}
	for _, r := range runs {
		r.c.waitHealthy(t, 30*time.Second)
	}
	recovered := time.Now()
	t.Logf("every node ready with its feed up %v after PostgreSQL", recovered.Sub(up).Round(time.Millisecond))
	for range restartRounds {
		for _, r := range runs {
			r.h.round(t, "after")
		}
	}

	for _, r := range runs {
		s := r.h.finish(t)
		for i, times := range s.outages {
			during := 0
			for _, at := range times {
				if !at.Before(down) && !at.After(recovered) {
					during++
				}
			}
			t.Logf("%s, node %d: %d answers 503 during the restart, %d in all", r.name, i, during, len(times))
			// With the PostgreSQL feed, the feed breaks with the server:
			// a node that never answered 503 answered from a cache it
			// could not trust. (With the Redis feed the cache stays
			// trusted, correctly, until the safety poll of the change log
			// fails, so a short restart may pass unseen.)
			if during == 0 && r.c.redis == "" {
				t.Errorf("%s, node %d never answered 503 while PostgreSQL restarted", r.name, i)
			}
		}
		checkBound(t, report(t, r.name+", before the PostgreSQL restart", s.lags["before"]))
		report(t, r.name+", the key revoked as PostgreSQL came back", s.lags["restart"])
		checkBound(t, report(t, r.name+", after the PostgreSQL restart", s.lags["after"]))
	}
}

// pgVersion is the version of the one cluster in /etc/postgresql (Debian's
// layout), which pg_ctlcluster needs.
func pgVersion(t *testing.T) string {
	t.Helper()
	dirs, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(dirs) != 1 {
		t.Fatalf("%s=1 needs exactly one PostgreSQL cluster in /etc/postgresql (%v, %d found)", envPGRestart, err, len(dirs))
	}
	return dirs[0].Name()
}

// waitPostgres waits until the server accepts connections again.
func waitPostgres(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := adminExec("SELECT 1")
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("PostgreSQL not back a minute after its restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // a server starting up has no signal to wait on
	}
}
