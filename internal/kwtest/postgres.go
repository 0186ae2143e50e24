package kwtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/store/postgres"
)

// NewPostgresStore returns a store on a fresh PostgreSQL database of its
// own (NewPostgresDatabase).
func NewPostgresStore(t testing.TB) keyward.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), NewPostgresDatabase(t))
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	})
	return st
}

// NewPostgresDatabase creates an empty PostgreSQL database of the test's
// own, dropped when the test ends, and returns its URL. It skips the test
// when KEYWARD_TEST_POSTGRES (a URL naming the database /test) is not set.
func NewPostgresDatabase(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping what needs PostgreSQL")
	}
	base := os.Getenv("KEYWARD_TEST_POSTGRES")
	if base == "" {
		t.Skip("KEYWARD_TEST_POSTGRES not set: skipping what needs PostgreSQL")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "keyward_kw_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping the test database %s: %v", name, err)
		}
		admin.Close(context.Background())
	})
	url := strings.Replace(base, "/test?", "/"+name+"?", 1)
	if url == base {
		t.Fatalf("KEYWARD_TEST_POSTGRES %q must name the database /test?…", base)
	}
	return url
}
