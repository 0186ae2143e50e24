package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/keyward/keyward"
)

// appliedMigrations reads schema_migrations as "version name applied_at".
func appliedMigrations(t *testing.T, db dbtx) []string {
	t.Helper()
	rows, err := db.Query(t.Context(), `SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	var out []string
	for rows.Next() {
		var v int
		var name string
		var at time.Time
		if err := rows.Scan(&v, &name, &at); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d %s %s", v, name, at.UTC().Format(time.RFC3339Nano)))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustLoadMigrations(t *testing.T) []migration {
	t.Helper()
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// TestConcurrentOpensMigrateOnce starts several nodes on one empty database
// at once: the advisory lock lets one migrate, and the others find the work
// done. Reopening applies nothing again.
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	t.Parallel()
	setup(t)
	dbu := dbURL(createDB(t, ""))
	const nodes = 4
	stores := make([]*Store, nodes)
	errs := make([]error, nodes)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = Open(t.Context(), dbu)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		defer stores[i].Close()
	}
	first := appliedMigrations(t, stores[0].pool)
	if ms := mustLoadMigrations(t); len(first) != len(ms) {
		t.Fatalf("schema_migrations = %q, want one row per migration (%d)", first, len(ms))
	}
	// Every node works on the schema.
	for i, s := range stores {
		o := &keyward.Org{ID: keyward.NewID(keyward.PrefixOrg), Name: "n", Slug: fmt.Sprintf("node-%d", i),
			Settings: keyward.DefaultSettings(), CreatedAt: keyward.SystemClock{}.Now()}
		if err := s.CreateOrg(t.Context(), o); err != nil {
			t.Fatalf("CreateOrg on node %d: %v", i, err)
		}
	}

	again, err := Open(t.Context(), dbu)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer again.Close()
	if err := Migrate(t.Context(), dbu); err != nil {
		t.Fatalf("Migrate on a migrated database: %v", err)
	}
	if d := cmp.Diff(first, appliedMigrations(t, again.pool)); d != "" {
		t.Errorf("schema_migrations changed on reopen (-before +after):\n%s", d)
	}
	n, err := again.CountOrgs(t.Context())
	if err != nil || n != nodes {
		t.Errorf("CountOrgs after reopen = %d, %v; want %d", n, err, nodes)
	}
}

func TestMigrateAlone(t *testing.T) {
	t.Parallel()
	setup(t)
	dbu := dbURL(createDB(t, ""))
	if err := Migrate(t.Context(), dbu); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	conn, err := pgx.Connect(t.Context(), dbu)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if got, want := len(appliedMigrations(t, conn)), len(mustLoadMigrations(t)); got != want {
		t.Errorf("Migrate recorded %d migrations, want %d", got, want)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	if _, err := s.pool.Exec(t.Context(),
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', now())`); err != nil {
		t.Fatal(err)
	}
	dbu := s.pool.Config().ConnConfig.ConnString()
	if s2, err := Open(t.Context(), dbu); err == nil {
		s2.Close()
		t.Fatal("Open succeeded on a database from a newer binary")
	}
	if err := Migrate(t.Context(), dbu); err == nil {
		t.Fatal("Migrate succeeded on a database from a newer binary")
	}
}

// TestUpgradeAppliesNewMigrations opens a database that an older binary,
// which knew only the first migration, created and filled: Open applies the
// rest, keeps the data and leaves the first migration's record alone.
func TestUpgradeAppliesNewMigrations(t *testing.T) {
	t.Parallel()
	setup(t)
	ctx := t.Context()
	dbu := dbURL(createDB(t, ""))
	ms := mustLoadMigrations(t)
	if len(ms) < 2 {
		t.Fatalf("%d migrations; this test needs at least 2", len(ms))
	}

	old, err := pgx.Connect(ctx, dbu)
	if err != nil {
		t.Fatal(err)
	}
	if err := applyMigrations(ctx, old, ms[:1]); err != nil {
		t.Fatalf("apply the first migration: %v", err)
	}
	u := &keyward.User{ID: keyward.NewID(keyward.PrefixUser), Email: "ann@example.com", Name: "Ann",
		PasswordHash: "$argon2id$fake", CreatedAt: keyward.SystemClock{}.Now()}
	if err := (queries{db: old}).CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser on the old schema: %v", err)
	}
	var sessions *string
	if err := old.QueryRow(ctx, `SELECT to_regclass('sessions')::text`).Scan(&sessions); err != nil {
		t.Fatal(err)
	}
	if sessions != nil {
		t.Fatal("the first migration alone created the sessions table")
	}
	before := appliedMigrations(t, old)
	old.Close(ctx)

	s, err := Open(ctx, dbu)
	if err != nil {
		t.Fatalf("Open the old database: %v", err)
	}
	defer s.Close()
	applied := appliedMigrations(t, s.pool)
	if len(applied) != len(ms) {
		t.Fatalf("after upgrade schema_migrations = %q, want one row per migration (%d)", applied, len(ms))
	}
	if applied[0] != before[0] {
		t.Errorf("first migration's record changed: %q, was %q", applied[0], before[0])
	}
	for i, m := range ms {
		if want := fmt.Sprintf("%d %s ", m.Version, m.Name); !strings.HasPrefix(applied[i], want) {
			t.Errorf("schema_migrations row %d = %q, want %q…", i, applied[i], want)
		}
	}
	got, err := s.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatalf("GetUser after upgrade: %v", err)
	}
	if d := cmp.Diff(u, got); d != "" {
		t.Errorf("user after upgrade (-want +got):\n%s", d)
	}
	now := keyward.SystemClock{}.Now()
	sess := &keyward.Session{ID: keyward.NewID("ses"), UserID: u.ID, Digest: []byte("digest"),
		CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastSeenAt: now}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatalf("CreateSession after upgrade: %v", err)
	}
	orphan := *sess
	orphan.ID, orphan.UserID, orphan.Digest = keyward.NewID("ses"), keyward.NewID(keyward.PrefixUser), []byte("other")
	err = s.CreateSession(ctx, &orphan)
	if err == nil {
		t.Error("CreateSession for an unknown user succeeded; want a foreign key error")
	} else if code := keyward.ErrorCode(err); code != keyward.CodeInternal {
		// As on SQLite: a broken reference is a bug in the caller.
		t.Errorf("CreateSession for an unknown user: code %s, want INTERNAL", code)
	}
}
