// Command millionkeys measures keyward on PostgreSQL with many keys: the
// rate at which the service creates them (digest, limit checks under the
// org lock, audit event and change log, as in production), the latency of a
// page of ListKeys at random positions, the heap that the verification cache
// holds per key, and Authenticate on cached keys.
//
// It creates a fresh database keyward_bench_<random> on the server at -db
// and drops it at the end, on error and on SIGINT/SIGTERM too.
//
// When the server runs without autovacuum (as the test server does), the
// tool stands in for it on the keys table (see autovacuum), because the
// limit check's index-only count depends on the visibility map that VACUUM
// keeps. A create that fails because the database is unavailable (another
// test restarting the shared server) is retried and counted.
//
//	go run ./internal/tools/millionkeys -n 1000000 -c 8
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/apikey"
	"github.com/keyward/keyward/internal/service"
	"github.com/keyward/keyward/internal/store/postgres"
	"github.com/keyward/keyward/internal/verify"
)

const defaultDB = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

type config struct {
	db       string
	n        int
	conc     int
	projects int
	cached   int
	lists    int
	auths    int
	budget   time.Duration
	every    int
	orgs     int
	vacuum   bool
}

func main() {
	var cfg config
	def := os.Getenv("KEYWARD_BENCH_DB")
	if def == "" {
		def = defaultDB
	}
	flag.StringVar(&cfg.db, "db", def, "PostgreSQL server to create the benchmark database on (env KEYWARD_BENCH_DB)")
	flag.IntVar(&cfg.n, "n", 1_000_000, "project keys to create")
	flag.IntVar(&cfg.conc, "c", 8, "concurrent workers (at most 8)")
	flag.IntVar(&cfg.projects, "projects", 100, "projects to spread the keys over")
	flag.IntVar(&cfg.cached, "k", 100_000, "keys to load into the verification cache")
	flag.IntVar(&cfg.lists, "lists", 2000, "ListKeys calls at random cursors")
	flag.IntVar(&cfg.auths, "auths", 200_000, "Authenticate calls on cached keys")
	flag.DurationVar(&cfg.budget, "budget", 0, "stop creating keys after this long (0: create all -n)")
	flag.IntVar(&cfg.every, "every", 100_000, "report the create rate every this many keys")
	flag.IntVar(&cfg.orgs, "orgs", 1, "orgs to spread the projects over (each has its own lock)")
	flag.BoolVar(&cfg.vacuum, "autovacuum", true, "if the server's autovacuum is off, VACUUM and ANALYZE keys as it would")
	flag.Parse()
	if cfg.conc < 1 || cfg.conc > 8 || cfg.n < 1 || cfg.projects < 1 || cfg.cached < 1 || cfg.lists < 1 || cfg.auths < 1 || cfg.every < 1 ||
		cfg.orgs < 1 || cfg.orgs > cfg.projects {
		fmt.Fprintln(os.Stderr, "millionkeys: -c must be 1..8; -n, -projects, -k, -lists, -auths and -every at least 1; -orgs 1..-projects")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, cfg)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "millionkeys:", err)
		os.Exit(1)
	}
}

// run creates the benchmark database, runs the measurements on it and drops
// it whatever happens. Each of these uses a connection of its own to -db:
// one kept open for the whole run would not survive a restart of the
// server, which other tests sharing it do.
func run(ctx context.Context, cfg config) (err error) {
	var b [6]byte
	rand.Read(b[:])
	name := "keyward_bench_" + hex.EncodeToString(b[:])
	if err := adminExec(ctx, cfg.db, "CREATE DATABASE "+name); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	fmt.Printf("database %s created\n", name)
	defer func() {
		// Try for a minute, in case the server is restarting.
		dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for {
			derr := adminExec(dctx, cfg.db, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			if derr == nil {
				fmt.Printf("database %s dropped\n", name)
				return
			}
			select {
			case <-dctx.Done():
				err = errors.Join(err, fmt.Errorf("drop database %s: %w", name, derr))
				return
			case <-time.After(2 * time.Second):
			}
		}
	}()

	u, err := url.Parse(cfg.db)
	if err != nil {
		return fmt.Errorf("parse -db: %w", err)
	}
	u.Path = "/" + name
	q := u.Query()
	if q.Get("pool_max_conns") == "" {
		q.Set("pool_max_conns", strconv.Itoa(cfg.conc+2))
	}
	u.RawQuery = q.Encode()
	st, err := postgres.Open(ctx, u.String())
	if err != nil {
		return err
	}
	defer st.Close()        //nolint:errcheck // a PostgreSQL store's Close only closes its pool, and returns nil
	q.Del("pool_max_conns") // a pool setting, not one for a plain connection
	u.RawQuery = q.Encode()
	return bench(ctx, cfg, st, u.String())
}

// adminExec runs one statement on a new connection to the server at db.
func adminExec(ctx context.Context, db, stmt string) error {
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, stmt)
	return err
}

type result struct {
	created                   int
	createDur                 time.Duration
	createLat                 []time.Duration
	intervals                 []string
	listFirstPass             time.Duration
	listPages                 int
	listLat                   []time.Duration
	retries                   int64
	vacuums, analyzes         int
	vacuumDur                 time.Duration
	cachedKeys                int
	heapPerKey                float64
	loadDur                   time.Duration
	authLat                   []time.Duration
	authMisses                uint64
	dbSize                    int64
	keysRows, auditRows, chgs int64
}

func bench(ctx context.Context, cfg config, st *postgres.Store, dbURL string) error {
	pepper := []byte("millionkeys-pepper")
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	svc, err := service.New(service.Config{Store: st, Pepper: pepper, Logger: log})
	if err != nil {
		return err
	}
	boot, err := svc.Bootstrap(ctx, service.BootstrapInput{OrgName: "Bench", Email: "bench@example.com"})
	if err != nil {
		return err
	}
	// Keys are created by each org's org key, as an automation would:
	// org-key-created project keys have no owner, so the per-user limit
	// does not apply; the per-project limit is checked on every create.
	orgKeys := []*keyward.Key{boot.OrgKey}
	owners := []*service.Actor{service.UserActor(boot.User.ID, boot.Org.ID, service.Origin{})}
	for o := 1; o < cfg.orgs; o++ {
		owner, key, err := addOrg(ctx, svc, st, o)
		if err != nil {
			return fmt.Errorf("create org %d: %w", o, err)
		}
		owners, orgKeys = append(owners, owner), append(orgKeys, key)
	}
	perProject := (cfg.n + cfg.projects - 1) / cfg.projects
	maxPer := min(perProject+10, 1_000_000)
	for _, owner := range owners {
		if _, err := svc.UpdateSettings(ctx, owner, keyward.SettingsPatch{MaxKeysPerProject: &maxPer}); err != nil {
			return fmt.Errorf("raise limits: %w", err)
		}
	}
	// Project i belongs to org i % -orgs; actors[i] is its org's key.
	projects := make([]string, cfg.projects)
	actors := make([]*service.Actor, cfg.projects)
	for i := range projects {
		p, err := svc.CreateProject(ctx, owners[i%cfg.orgs], keyward.CreateProjectInput{Name: fmt.Sprintf("bench %d", i)})
		if err != nil {
			return fmt.Errorf("create project %d: %w", i, err)
		}
		projects[i] = p.ID
		actors[i] = service.KeyActor(orgKeys[i%cfg.orgs], service.Origin{})
	}
	fmt.Printf("%d org(s) (first %s), %d projects, max_keys_per_project %d, %d workers, GOMAXPROCS %d\n\n",
		cfg.orgs, boot.Org.ID, cfg.projects, maxPer, cfg.conc, runtime.GOMAXPROCS(0))

	var r result

	// 1. Create keys. Every secret is kept (about 64 bytes each) so that
	// the cache can be loaded with -k of them however many were created.
	secrets := make([]string, cfg.n)
	step := cfg.every
	var next, done atomic.Int64
	var mu sync.Mutex
	var lats []time.Duration
	lastAt, lastN := time.Now(), 0
	start := lastAt
	var deadline time.Time
	if cfg.budget > 0 {
		deadline = start.Add(cfg.budget)
	}
	cctx, cancel := context.WithCancelCause(ctx)
	var retries atomic.Int64
	vacuumed := make(chan vacuumStats, 1)
	if cfg.vacuum {
		go func() { vacuumed <- autovacuum(cctx, dbURL, &done) }()
	} else {
		vacuumed <- vacuumStats{}
	}
	var wg sync.WaitGroup
	for w := 0; w < cfg.conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			defer func() {
				mu.Lock()
				lats = append(lats, mine...)
				mu.Unlock()
			}()
			for cctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= cfg.n || (!deadline.IsZero() && time.Now().After(deadline)) {
					return
				}
				t0 := time.Now()
				k, err := createKey(cctx, svc, actors[i%cfg.projects], projects[i%cfg.projects], i, &retries)
				if err != nil {
					cancel(fmt.Errorf("create key %d: %w", i, err))
					return
				}
				mine = append(mine, time.Since(t0))
				secrets[i] = k.Secret
				if d := int(done.Add(1)); d%step == 0 {
					now := time.Now()
					mu.Lock()
					line := fmt.Sprintf("%9d keys  last %d: %6.0f keys/s  overall %6.0f keys/s  elapsed %v",
						d, d-lastN, float64(d-lastN)/now.Sub(lastAt).Seconds(), float64(d)/now.Sub(start).Seconds(),
						now.Sub(start).Round(time.Second))
					r.intervals = append(r.intervals, line)
					lastAt, lastN = now, d
					mu.Unlock()
					fmt.Println(line)
				}
			}
		}()
	}
	wg.Wait()
	r.createDur = time.Since(start)
	if err := context.Cause(cctx); err != nil {
		cancel(nil)
		return err
	}
	cancel(nil)
	vs := <-vacuumed
	r.vacuums, r.analyzes, r.vacuumDur, r.retries = vs.vacuums, vs.analyzes, vs.dur, retries.Load()
	// Keep -k secrets of keys that exist, picked at random (with -budget,
	// the keys created are not a prefix of the indexes).
	r.created = int(done.Load())
	r.createLat = lats
	var have []string
	for _, s := range secrets {
		if s != "" {
			have = append(have, s)
		}
	}
	mrand.Shuffle(len(have), func(i, j int) { have[i], have[j] = have[j], have[i] })
	secrets = slices.Clone(have[:min(len(have), cfg.cached)])
	have = nil
	fmt.Printf("created %d keys in %v: %.0f keys/s (%d creates retried; %d VACUUM, %d ANALYZE of keys in %v)\n\n",
		r.created, r.createDur.Round(time.Millisecond), float64(r.created)/r.createDur.Seconds(),
		r.retries, r.vacuums, r.analyzes, r.vacuumDur.Round(time.Millisecond))

	// 2. ListKeys: walk every project in pages of 50 to collect the cursors
	// the API hands out, then time pages at random cursors.
	type pos struct {
		project int
		cursor  string
	}
	var cursors []pos
	t0 := time.Now()
	for pi, p := range projects {
		cursors = append(cursors, pos{pi, ""})
		cur := ""
		for {
			page, err := svc.ListKeys(ctx, actors[pi], service.Where{ProjectID: p}, service.ListKeysQuery{Limit: 50, Cursor: cur})
			if err != nil {
				return fmt.Errorf("list keys: %w", err)
			}
			r.listPages++
			if page.NextCursor == nil {
				break
			}
			cur = *page.NextCursor
			cursors = append(cursors, pos{pi, cur})
		}
	}
	r.listFirstPass = time.Since(t0)
	fmt.Printf("first pass: %d pages of 50 in %v\n", r.listPages, r.listFirstPass.Round(time.Millisecond))
	for range cfg.lists {
		c := cursors[mrand.IntN(len(cursors))]
		t := time.Now()
		page, err := svc.ListKeys(ctx, actors[c.project], service.Where{ProjectID: projects[c.project]}, service.ListKeysQuery{Limit: 50, Cursor: c.cursor})
		if err != nil {
			return fmt.Errorf("list keys: %w", err)
		}
		r.listLat = append(r.listLat, time.Since(t))
		if len(page.Data) == 0 {
			return errors.New("list keys: empty page at a cursor the first pass returned")
		}
	}
	slices.Sort(r.listLat)
	fmt.Printf("ListKeys limit 50, %d random cursors: p50 %v  p99 %v  max %v\n\n", len(r.listLat),
		pct(r.listLat, 50), pct(r.listLat, 99), r.listLat[len(r.listLat)-1])

	// 3. Heap per cached key: a verification cache of its own, filled
	// through cache.Get with a loader that reads the store by digest, as
	// the service's cache is on a miss. Digests are computed before the
	// baseline so that only what the cache keeps is counted.
	dg := apikey.NewDigester(pepper)
	digests := make([]verify.Digest, len(secrets))
	for i, s := range secrets {
		digests[i] = dg.Sum(s)
	}
	loader := func(ctx context.Context, d verify.Digest) (*keyward.Key, error) { return st.GetKeyByDigest(ctx, d[:]) }
	cache := verify.New(verify.Options{MaxEntries: 2 * len(digests), PositiveTTL: time.Hour})
	before := heap()
	now := time.Now()
	t0 = time.Now()
	if err := parallel(ctx, cfg.conc, len(digests), func(i int) error {
		_, err := cache.Get(ctx, digests[i], now, loader)
		return err
	}); err != nil {
		return fmt.Errorf("load cache: %w", err)
	}
	r.loadDur = time.Since(t0)
	after := heap()
	r.cachedKeys = cache.Stats().Entries
	r.heapPerKey = float64(int64(after)-int64(before)) / float64(r.cachedKeys)
	runtime.KeepAlive(cache)
	fmt.Printf("verification cache: %d keys loaded from the store in %v; heap %+.1f MiB = %.0f bytes per cached key\n",
		r.cachedKeys, r.loadDur.Round(time.Millisecond), float64(int64(after)-int64(before))/(1<<20), r.heapPerKey)
	cache = nil

	// 4. Authenticate on cached keys: a second service whose cache holds
	// every sampled key, then random keys among them, one at a time.
	svc2, err := service.New(service.Config{Store: st, Pepper: pepper, Logger: log,
		Cache: verify.Options{MaxEntries: 2 * len(secrets), PositiveTTL: time.Hour}})
	if err != nil {
		return err
	}
	ip := netip.MustParseAddr("127.0.0.1")
	if err := parallel(ctx, cfg.conc, len(secrets), func(i int) error {
		_, err := svc2.Authenticate(ctx, secrets[i], keyward.KindProject, ip)
		return err
	}); err != nil {
		return fmt.Errorf("warm: %w", err)
	}
	misses := svc2.Cache().Stats().Misses
	r.authLat = make([]time.Duration, 0, cfg.auths)
	for range cfg.auths {
		s := secrets[mrand.IntN(len(secrets))]
		t := time.Now()
		_, err := svc2.Authenticate(ctx, s, keyward.KindProject, ip)
		r.authLat = append(r.authLat, time.Since(t))
		if err != nil {
			return fmt.Errorf("authenticate: %w", err)
		}
	}
	r.authMisses = svc2.Cache().Stats().Misses - misses
	slices.Sort(r.authLat)
	fmt.Printf("Authenticate on %d cached keys, %d random calls: p50 %v  p99 %v  max %v  (cache misses %d)\n\n",
		len(secrets), len(r.authLat), pct(r.authLat, 50), pct(r.authLat, 99), r.authLat[len(r.authLat)-1], r.authMisses)

	// 5. What the database holds.
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM keys), (SELECT count(*) FROM audit_events),
		(SELECT count(*) FROM key_changes)`).Scan(&r.keysRows, &r.auditRows, &r.chgs); err != nil {
		return err
	}
	if err := conn.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&r.dbSize); err != nil {
		return err
	}
	summary(cfg, &r)
	return nil
}

// addOrg makes another org as Bootstrap makes the first (which it refuses
// once an org exists): the org, its owner and membership in one transaction
// of the store, then an org key that the owner creates through the service.
func addOrg(ctx context.Context, svc *service.Service, st *postgres.Store, o int) (*service.Actor, *keyward.Key, error) {
	now := time.Now().UTC()
	org := &keyward.Org{ID: keyward.NewID(keyward.PrefixOrg), Name: fmt.Sprintf("Bench %d", o),
		Slug: fmt.Sprintf("bench-%d", o), Settings: keyward.DefaultSettings(), CreatedAt: now}
	user := &keyward.User{ID: keyward.NewID(keyward.PrefixUser), Email: fmt.Sprintf("bench%d@example.com", o), CreatedAt: now}
	err := st.InTx(ctx, func(q keyward.Queries) error {
		if err := q.CreateOrg(ctx, org); err != nil {
			return err
		}
		if err := q.CreateUser(ctx, user); err != nil {
			return err
		}
		return q.PutMember(ctx, &keyward.Member{OrgID: org.ID, UserID: user.ID, Role: keyward.OrgOwner, CreatedAt: now})
	})
	if err != nil {
		return nil, nil, err
	}
	owner := service.UserActor(user.ID, org.ID, service.Origin{})
	key, err := svc.CreateKey(ctx, owner, service.Where{}, keyward.CreateKeyInput{Name: "bench"})
	return owner, key, err
}

// createKey creates key i of project p. The database server is shared with
// other tests, some of which restart it: a create that fails as UNAVAILABLE
// is retried every half second for up to two minutes, and counted. (If the
// failure hid a commit, that key exists with its secret lost and the retry
// makes another: the final row count shows it.)
func createKey(ctx context.Context, svc *service.Service, a *service.Actor, p string, i int, retries *atomic.Int64) (*keyward.Key, error) {
	giveUp := time.Now().Add(2 * time.Minute)
	for {
		k, err := svc.CreateKey(ctx, a, service.Where{ProjectID: p}, keyward.CreateKeyInput{Name: "bench key " + strconv.Itoa(i)})
		if err == nil || keyward.ErrorCode(err) != keyward.CodeUnavailable || time.Now().After(giveUp) || ctx.Err() != nil {
			return k, err
		}
		retries.Add(1)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

type vacuumStats struct {
	vacuums, analyzes int
	dur               time.Duration
}

// autovacuum stands in for PostgreSQL's autovacuum on the keys table when
// the server has it off, until ctx ends. The limit check counts a
// project's keys in the keys_usable index and reads the table only for
// pages the visibility map does not mark all-visible, which only VACUUM
// marks: with no VACUUM at all every count would visit one table row per
// key. It runs when autovacuum would, with the keys table's settings: it
// looks once a minute (autovacuum_naptime) and runs VACUUM if 1000 + 1% of
// the table's rows have been inserted since the last one
// (autovacuum_vacuum_insert_threshold and the scale factor migration 0006
// sets on keys), ANALYZE if 50 + 10% have changed (PostgreSQL's defaults).
// The table's size is taken as the keys created.
func autovacuum(ctx context.Context, dbURL string, created *atomic.Int64) vacuumStats {
	var vs vacuumStats
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "millionkeys: autovacuum stand-in off:", err)
		return vs
	}
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	var on string
	if err := conn.QueryRow(ctx, "SHOW autovacuum").Scan(&on); err != nil || on == "on" {
		return vs
	}
	var vacuumedAt, analyzedAt int64
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return vs
		case <-tick.C:
		}
		n := created.Load()
		vacuum := n-vacuumedAt >= 1000+n/100
		analyze := n-analyzedAt >= 50+n/10
		if !vacuum && !analyze {
			continue
		}
		stmt := "VACUUM keys"
		switch {
		case vacuum && analyze:
			stmt = "VACUUM (ANALYZE) keys"
		case analyze:
			stmt = "ANALYZE keys"
		}
		if conn == nil { // lost with a server restart: try again
			if conn, err = pgx.Connect(ctx, dbURL); err != nil {
				conn = nil
				continue
			}
		}
		t := time.Now()
		if _, err := conn.Exec(ctx, stmt); err != nil {
			if ctx.Err() != nil {
				return vs
			}
			fmt.Fprintln(os.Stderr, "millionkeys:", stmt+":", err)
			conn.Close(context.Background())
			conn = nil
			continue
		}
		vs.dur += time.Since(t)
		if vacuum {
			vs.vacuums++
			vacuumedAt = n
		}
		if analyze {
			vs.analyzes++
			analyzedAt = n
		}
	}
}

// parallel runs fn(0..n-1) on conc goroutines and returns the first error.
func parallel(ctx context.Context, conc, n int, fn func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n))
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// heap returns the live heap after a full collection.
func heap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)]
}

func summary(cfg config, r *result) {
	slices.Sort(r.createLat)
	fmt.Println("== summary ==")
	fmt.Println("command:", command())
	fmt.Printf("machine: %d CPUs, %s/%s, %s\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	if r.created < cfg.n {
		fmt.Printf("NOTE: stopped by -budget after %d of %d keys\n", r.created, cfg.n)
	}
	fmt.Printf("create: %d project keys over %d projects in %d org(s), %d workers, %v: %.0f keys/s; per call p50 %v p99 %v max %v\n",
		r.created, cfg.projects, cfg.orgs, cfg.conc, r.createDur.Round(time.Second), float64(r.created)/r.createDur.Seconds(),
		pct(r.createLat, 50), pct(r.createLat, 99), r.createLat[len(r.createLat)-1])
	for _, l := range r.intervals {
		fmt.Println("  " + strings.TrimSpace(l))
	}
	fmt.Printf("  %d creates retried after the database was unavailable; %d VACUUM and %d ANALYZE of keys by the tool, %v\n",
		r.retries, r.vacuums, r.analyzes, r.vacuumDur.Round(time.Millisecond))
	fmt.Printf("database: %d keys, %d audit events, %d key changes, %.0f MiB\n",
		r.keysRows, r.auditRows, r.chgs, float64(r.dbSize)/(1<<20))
	fmt.Printf("list: first pass %d pages in %v; %d pages of 50 at random cursors: p50 %v p99 %v max %v\n",
		r.listPages, r.listFirstPass.Round(time.Millisecond), len(r.listLat),
		pct(r.listLat, 50), pct(r.listLat, 99), r.listLat[len(r.listLat)-1])
	fmt.Printf("cache: %d keys, %.0f bytes of heap per cached key (%.1f MiB per 100,000 keys)\n",
		r.cachedKeys, r.heapPerKey, r.heapPerKey*100_000/(1<<20))
	fmt.Printf("authenticate (cached, random key of %d): p50 %v p99 %v max %v, %d misses\n",
		r.cachedKeys, pct(r.authLat, 50), pct(r.authLat, 99), r.authLat[len(r.authLat)-1], r.authMisses)
}

// command is the command line that reproduces this run, with any password
// in -db hidden.
func command() string {
	args := []string{"go run ./internal/tools/millionkeys"}
	flag.Visit(func(f *flag.Flag) {
		v := f.Value.String()
		if f.Name == "db" {
			if u, err := url.Parse(v); err == nil {
				v = "'" + u.Redacted() + "'"
			}
		}
		args = append(args, "-"+f.Name+" "+v)
	})
	return strings.Join(args, " ")
}
