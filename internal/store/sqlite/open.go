// Package sqlite implements keyward.Store on an embedded SQLite file, using
// the pure-Go modernc.org/sqlite driver.
//
// The store keeps two connection pools on the same file. Writes go through a
// pool of exactly one connection whose transactions begin IMMEDIATE, so
// writers queue in Go (honouring each caller's context) instead of failing
// with SQLITE_BUSY, and a transaction that reads and then writes (a limit
// check, a revoke) holds the database's only write lock from its first
// statement. Plain reads go through a separate query-only pool and, thanks to
// WAL, never wait for writers.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/keyward/keyward"
)

// busyTimeoutMS is how long a connection waits for another process's lock
// before giving up with SQLITE_BUSY (reported as UNAVAILABLE).
const busyTimeoutMS = 10000

// Store is a keyward.Store on one SQLite file. It is safe for concurrent use.
type Store struct {
	queries         // reads on the read pool, writes on the write pool
	write   *sql.DB // one connection; every transaction is BEGIN IMMEDIATE
	read    *sql.DB // query-only connections for plain reads

	tightened []string // files Open made 0600 (see prepareFiles)
}

var _ keyward.Store = (*Store)(nil)

// Open opens (creating if needed, with mode 0600) the SQLite database at
// path, a filesystem path such as "keyward.db", and applies any pending
// migrations. Existing files that others may read are made 0600 (see
// prepareFiles and Tightened).
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite: invalid database path %q", path)
	}
	tightened, err := prepareFiles(path)
	if err != nil {
		return nil, err
	}
	common := fmt.Sprintf("_busy_timeout=%d&_foreign_keys=1&_synchronous=NORMAL", busyTimeoutMS)

	write, err := sql.Open("sqlite", path+"?"+common+"&_journal_mode=WAL&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	// Migrate before the read pool connects: the write connection is the one
	// that switches the file to WAL.
	if err := migrate(ctx, write); err != nil {
		_ = write.Close() // the error below is the one to report
		return nil, err
	}

	read, err := sql.Open("sqlite", path+"?"+common+"&_query_only=1")
	if err != nil {
		_ = write.Close() // the error below is the one to report
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)

	s := &Store{write: write, read: read, tightened: tightened}
	s.queries = queries{r: read, w: write, db: write}
	if err := s.Ping(ctx); err != nil {
		_ = s.Close() // the error below is the one to report
		return nil, err
	}
	return s, nil
}

// Ping reports whether both pools can reach the database file.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return keyward.Unavailable(fmt.Errorf("sqlite: ping: %w", err))
	}
	if err := s.read.PingContext(ctx); err != nil {
		return keyward.Unavailable(fmt.Errorf("sqlite: ping: %w", err))
	}
	return nil
}

// Close closes both connection pools. Calls after Close fail with
// UNAVAILABLE.
func (s *Store) Close() error {
	return errors.Join(s.read.Close(), s.write.Close())
}

// InTx runs fn in one IMMEDIATE transaction on the write connection: fn's
// writes are committed together when it returns nil, and rolled back when it
// returns an error (which InTx returns unchanged), panics or exits the
// goroutine.
//
// fn must use only the Queries it is given: the write connection is busy
// with fn's transaction, so a write through the Store itself (or a nested
// InTx) waits until ctx ends.
func (s *Store) InTx(ctx context.Context, fn func(keyward.Queries) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return dbError(err, "sqlite: begin")
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := fn(queries{r: tx, w: tx}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return dbError(err, "sqlite: commit")
	}
	return nil
}

// LockOrg serializes transactions of one org. On SQLite it has nothing to
// do: InTx transactions begin IMMEDIATE on the single write connection, so a
// transaction already holds the database's write lock, which excludes every
// other writer, from its first statement to its end. Outside a transaction
// there is nothing to hold a lock for, so it only reads the org there too.
func (q queries) LockOrg(ctx context.Context, orgID string) (*keyward.Org, error) {
	return q.GetOrg(ctx, orgID)
}
