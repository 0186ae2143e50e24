// Package postgres implements keyward.Store on PostgreSQL with pgx v5, for
// several keyward nodes sharing one database.
//
// Every method is atomic on its own: most are a single SQL statement, and
// the key writes (CreateKey, UpdateKey, DeleteProject), which also record
// key changes and queue NOTIFY keyward_key_changes, run in a transaction of
// their own outside InTx. InTx runs a READ COMMITTED transaction, and
// LockOrg takes a row lock on the org so that limit checks and revocations
// of one org run one at a time across every node. Migrations are embedded, forward-only and run on
// Open under an advisory lock, so nodes starting together are safe.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/keyward/keyward"
)

// connectTimeout bounds a connection attempt when the URL sets no
// connect_timeout, so an unreachable server is reported, not waited for.
const connectTimeout = 5 * time.Second

// Store is a keyward.Store on a PostgreSQL connection pool. It is safe for
// concurrent use.
type Store struct {
	queries
	pool *pgxpool.Pool
}

var _ keyward.Store = (*Store)(nil)

// Open connects to the database at url ("postgres://user@host/db?…"),
// applies any pending migrations and checks that the database answers. An
// unreachable server is UNAVAILABLE.
func Open(ctx context.Context, url string) (*Store, error) {
	s, err := newStore(url)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, s.pool); err != nil {
		_ = s.Close() // the error below is the one to report
		return nil, err
	}
	if err := s.Ping(ctx); err != nil {
		_ = s.Close() // the error below is the one to report
		return nil, err
	}
	return s, nil
}

// newStore makes a Store on a pool for url without connecting: the pool
// connects on first use.
func newStore(url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The error may quote the URL, password included: keep it out.
		return nil, errors.New("postgres: invalid database URL")
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: new pool: %w", err)
	}
	return &Store{queries: queries{db: pool}, pool: pool}, nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return keyward.Unavailable(fmt.Errorf("postgres: ping: %w", err))
	}
	return nil
}

// Close closes the pool, waiting for connections in use to be returned.
// Calls after Close fail with UNAVAILABLE. Close may be called more than
// once.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// InTx runs fn in one READ COMMITTED transaction: fn's writes are committed
// together when it returns nil, and rolled back when it returns an error
// (which InTx returns unchanged) or panics.
//
// Unlike on SQLite, a statement that fails inside a PostgreSQL transaction
// aborts it: every later statement fails and so does the commit. fn should
// therefore return the first error it gets. NOT_FOUND answers and CONFLICT
// from the Create and Insert methods are the exceptions: they are detected
// without a failed statement and leave the transaction usable.
func (s *Store) InTx(ctx context.Context, fn func(keyward.Queries) error) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return dbError(err, "postgres: begin")
	}
	// A no-op after Commit. If ctx has ended, pgx closes the connection
	// instead, which ends the transaction as well.
	defer tx.Rollback(ctx) //nolint:errcheck // see above: the transaction ends either way
	if err := fn(queries{db: tx, inTx: true}); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		if errors.Is(err, pgx.ErrTxCommitRollback) {
			return fmt.Errorf("postgres: commit: the transaction was aborted by an earlier failed statement: %w", err)
		}
		return dbError(err, "postgres: commit")
	}
	return nil
}

// begin starts a transaction. After a database restart the pool still holds
// connections the server has closed; BEGIN on one fails before anything has
// run, so it is safe to try again, and each failure discards one dead
// connection. The bound covers a full pool of them.
func (s *Store) begin(ctx context.Context) (pgx.Tx, error) {
	attempts := int(s.pool.Config().MaxConns) + 1
	for i := 1; ; i++ {
		tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
		if err == nil || i >= attempts || ctx.Err() != nil || !unavailable(err) {
			return tx, err
		}
	}
}

// LockOrg locks the org's row until the transaction ends, so transactions
// that lock the same org (a limit check before creating a key, a revoke
// before its audit event) run one after the other on every node. Statements
// of a READ COMMITTED transaction read what was committed when they start,
// so whatever the transaction reads after the lock includes the previous
// holder's writes; so does the org it returns: a row locked after a wait is
// read again as the previous holder committed it. Outside a transaction
// there is nothing to hold a lock for, so it only reads the org, as on
// SQLite.
func (q queries) LockOrg(ctx context.Context, orgID string) (*keyward.Org, error) {
	if !q.inTx {
		return q.GetOrg(ctx, orgID)
	}
	o, err := scanOrg(q.db.QueryRow(ctx, `SELECT `+orgColumns+` FROM orgs o WHERE o.id = $1 FOR UPDATE`, orgID))
	if err != nil {
		return nil, notFound(err, "organization", "postgres: lockOrg(%q)", orgID)
	}
	return o, nil
}
