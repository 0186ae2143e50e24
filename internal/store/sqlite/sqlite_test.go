package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

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
