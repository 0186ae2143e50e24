package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/store/storetest"
)

// envURL names the environment variable with the URL of a PostgreSQL
// database the tests may use to create and drop databases, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const envURL = "KEYWARD_TEST_POSTGRES"

// server is the test binary's connection to the PostgreSQL server, and the
// migrated template database every test's database is cloned from. It is
// set up on first use and dropped by TestMain.
var server struct {
	once     sync.Once
	err      error
	admin    *pgxpool.Pool
	base     *url.URL
	template string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if server.admin != nil {
		if server.template != "" {
			if _, err := server.admin.Exec(context.Background(),
				`DROP DATABASE IF EXISTS `+pgx.Identifier{server.template}.Sanitize()+` WITH (FORCE)`); err != nil {
				fmt.Fprintf(os.Stderr, "drop template database %s: %v\n", server.template, err)
			}
		}
		server.admin.Close()
	}
	os.Exit(code)
}

// randomName returns prefix followed by random hex, a valid unquoted
// database name.
func randomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// setup connects to the server named by KEYWARD_TEST_POSTGRES and creates
// the migrated template database, once per test binary. It skips the test
// when the variable is unset.
func setup(t *testing.T) {
	t.Helper()
	raw := os.Getenv(envURL)
	if raw == "" {
		t.Skip(envURL + " not set: skipping PostgreSQL tests")
	}
	if testing.Short() {
		t.Skip("-short: skipping PostgreSQL tests")
	}
	server.once.Do(func() {
		ctx := context.Background()
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "" {
			server.err = fmt.Errorf("%s must be a postgres:// URL", envURL)
			return
		}
		server.base = u
		if server.admin, err = pgxpool.New(ctx, raw); err != nil {
			server.err = err
			return
		}
		name := randomName(fmt.Sprintf("keyward_tmpl_%d_", os.Getpid()))
		if _, err := server.admin.Exec(ctx, `CREATE DATABASE `+name); err != nil {
			server.err = fmt.Errorf("create template database: %w", err)
			return
		}
		server.template = name
		// Migrate connects, migrates and disconnects: a template must have
		// no connections when it is cloned.
		server.err = Migrate(ctx, dbURL(name))
	})
	if server.err != nil {
		t.Fatalf("PostgreSQL test setup: %v", server.err)
	}
}

// dbURL returns the URL of database name on the test server.
func dbURL(name string) string {
	u := *server.base
	u.Path = "/" + name
	return u.String()
}

// createDB creates a database, a clone of template when it is not empty,
// and drops it when the test ends. It returns the database's name.
func createDB(t *testing.T, template string) string {
	t.Helper()
	name := randomName("keyward_t_")
	stmt := `CREATE DATABASE ` + name
	if template != "" {
		stmt += ` TEMPLATE ` + template
	}
	if _, err := server.admin.Exec(t.Context(), stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
	t.Cleanup(func() {
		// FORCE ends connections a failed test left open (PostgreSQL 13+).
		if _, err := server.admin.Exec(context.Background(), `DROP DATABASE `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return name
}

// openTemp opens a store on a fresh clone of the migrated template.
func openTemp(t *testing.T) *Store {
	t.Helper()
	setup(t)
	s, err := Open(t.Context(), dbURL(createDB(t, server.template)))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() }) // runs before the drop: cleanups run last-in, first-out
	return s
}

func TestConformance(t *testing.T) {
	setup(t) // skips once here rather than in every subtest
	storetest.Run(t, func(t *testing.T) keyward.Store { return openTemp(t) })
}
