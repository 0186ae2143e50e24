package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/store/storetest"
)

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "keyward.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) keyward.Store { return openTemp(t) })
}

// appliedMigrations reads schema_migrations as "version name applied_at".
func appliedMigrations(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.read.QueryContext(t.Context(),
		`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v, at int64
		var name string
		if err := rows.Scan(&v, &name, &at); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d %s %d", v, name, at))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "keyward.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	o := &keyward.Org{ID: keyward.NewID(keyward.PrefixOrg), Name: "Clé 🔑 日本", Slug: "acme",
		Settings: keyward.DefaultSettings(), CreatedAt: keyward.SystemClock{}.Now()}
	if err := s.CreateOrg(ctx, o); err != nil {
		t.Fatalf("CreateOrg: %v", err)
	}
	first := appliedMigrations(t, s)
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want one per migration (%d)", len(first), len(ms))
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	got, err := s.GetOrg(ctx, o.ID)
	if err != nil {
		t.Fatalf("GetOrg after reopen: %v", err)
	}
	if d := cmp.Diff(o, got); d != "" {
		t.Errorf("org after reopen (-want +got):\n%s", d)
	}
	// Same rows, same applied_at: nothing was applied again.
	if d := cmp.Diff(first, appliedMigrations(t, s)); d != "" {
		t.Errorf("schema_migrations changed on reopen (-before +after):\n%s", d)
	}
}

func TestPragmas(t *testing.T) {
	s := openTemp(t)
	for _, c := range []struct {
		db interface {
			QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
		}
		pragma, want string
	}{
		{s.write, "journal_mode", "wal"},
		{s.write, "foreign_keys", "1"},
		{s.write, "busy_timeout", "10000"},
		{s.write, "synchronous", "1"}, // NORMAL
		{s.read, "foreign_keys", "1"},
		{s.read, "query_only", "1"},
	} {
		var got string
		if err := c.db.QueryRowContext(t.Context(), "PRAGMA "+c.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", c.pragma, err)
		}
		if got != c.want {
			t.Errorf("PRAGMA %s = %q, want %q", c.pragma, got, c.want)
		}
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "keyward.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := s.write.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(ctx, path); err == nil {
		s.Close()
		t.Fatal("Open succeeded on a database from a newer binary")
	}
}

// TestUpgradeAppliesNewMigrations opens a database that an older binary,
// which knew only the first migration, created and filled: Open applies the
// rest, keeps the data and leaves the first migration's record alone.
func TestUpgradeAppliesNewMigrations(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "keyward.db")
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 2 {
		t.Fatalf("%d migrations; this test needs at least 2", len(ms))
	}

	old, err := sql.Open("sqlite", path+"?_foreign_keys=1&_journal_mode=WAL&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	old.SetMaxOpenConns(1)
	if err := applyMigrations(ctx, old, ms[:1]); err != nil {
		t.Fatalf("apply the first migration: %v", err)
	}
	u := &keyward.User{ID: keyward.NewID(keyward.PrefixUser), Email: "ann@example.com", Name: "Ann",
		PasswordHash: "$argon2id$fake", CreatedAt: keyward.SystemClock{}.Now().Truncate(time.Microsecond).UTC()}
	if err := (queries{r: old, w: old, db: old}).CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser on the old schema: %v", err)
	}
	var tables int
	if err := old.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = 'sessions'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatal("the first migration alone created the sessions table")
	}
	var before string
	if err := old.QueryRowContext(ctx,
		`SELECT version || ' ' || name || ' ' || applied_at FROM schema_migrations`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open the old database: %v", err)
	}
	defer s.Close()
	applied := appliedMigrations(t, s)
	if len(applied) != len(ms) {
		t.Fatalf("after upgrade schema_migrations = %q, want one row per migration (%d)", applied, len(ms))
	}
	if applied[0] != before {
		t.Errorf("first migration's record changed: %q, was %q", applied[0], before)
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
	// The new tables work, with their foreign keys to the old ones.
	now := keyward.SystemClock{}.Now().Truncate(time.Microsecond).UTC()
	sess := &keyward.Session{ID: keyward.NewID("ses"), UserID: u.ID, Digest: []byte("digest"),
		CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastSeenAt: now}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatalf("CreateSession after upgrade: %v", err)
	}
	gotSess, err := s.GetSessionByDigest(ctx, sess.Digest)
	if err != nil {
		t.Fatalf("GetSessionByDigest after upgrade: %v", err)
	}
	if d := cmp.Diff(sess, gotSess); d != "" {
		t.Errorf("session after upgrade (-want +got):\n%s", d)
	}
	orphan := *sess
	orphan.ID, orphan.UserID, orphan.Digest = keyward.NewID("ses"), keyward.NewID(keyward.PrefixUser), []byte("other")
	if err := s.CreateSession(ctx, &orphan); err == nil {
		t.Error("CreateSession for an unknown user succeeded; want a foreign key error")
	}
}
