package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyward/keyward"
)

// defaultKeyChangesLimit is KeyChanges' page size when the caller sets none.
const defaultKeyChangesLimit = 1000

// keyChangesLockKey is the transaction-level advisory lock that every
// transaction recording key changes holds from before it takes a change
// number until it ends ("keyward2" in ASCII; migrations use "keyward1").
//
// Readers follow the log by number: a node that has read change n asks for
// the changes after n. Numbers come from a sequence when the row is
// inserted, not when it commits, so without the lock a transaction could
// take n, another take n+1 and commit first, and a reader that saw n+1
// would never ask for n: a revoked key could stay in a node's cache. Under
// the lock change numbers become visible in order. PostgreSQL makes a commit
// visible before it releases the transaction's locks.
//
// Key writes of all orgs therefore commit one at a time. They are rare
// (create, rotate, revoke, edit), unlike verifications, which only read.
const keyChangesLockKey int64 = 0x6b65797761726432

// txBeginner is what *pgxpool.Pool and *pgx.Conn have in common.
type txBeginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// atomic runs fn in the current transaction, or in a new READ COMMITTED one
// outside a transaction, for the methods that need more than one statement.
// fn's errors are returned unchanged.
func (q queries) atomic(ctx context.Context, what string, fn func(db dbtx) error) error {
	if q.inTx {
		return fn(q.db)
	}
	b, ok := q.db.(txBeginner)
	if !ok {
		return fmt.Errorf("postgres: %s: %T cannot begin a transaction", what, q.db)
	}
	tx, err := b.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return dbError(err, "postgres: %s: begin", what)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		if errors.Is(err, pgx.ErrTxCommitRollback) {
			return fmt.Errorf("postgres: %s: commit: the transaction was aborted: %w", what, err)
		}
		return dbError(err, "postgres: %s: commit", what)
	}
	return nil
}

// returningOwner ends every statement passed to writeKeys: the change log
// records which org and project each written key belongs to.
const returningOwner = `RETURNING id, org_id, COALESCE(project_id, '') AS project_id`

// writeKeys runs write, a data-modifying statement on keys ending in
// returningOwner, through db, which must be a transaction. It records one
// change per key write returned and queues NOTIFY keyward_key_changes, which
// PostgreSQL delivers when (and only if) the transaction commits. It
// returns how many keys write touched. Errors are the driver's, for the
// caller to map.
//
// The lock and the write go to the server together, as a pipeline, which
// runs them in order: a create holds its org's lock while they run, so
// each round trip saved is one less wait for every other create of the org.
func writeKeys(ctx context.Context, db dbtx, write string, args ...any) (n int64, err error) {
	var b pgx.Batch
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, keyChangesLockKey)
	// One announcement per statement is enough: listeners read the log from
	// where they are, whatever the payload. CASE keeps pg_notify from
	// running when nothing was written.
	b.Queue(`WITH k AS (`+write+`),
		c AS (INSERT INTO key_changes (key_id, org_id, project_id, at)
			SELECT id, org_id, project_id, clock_timestamp() FROM k ORDER BY id RETURNING seq),
		s AS (SELECT count(*) AS n, COALESCE(max(seq), 0) AS last FROM c)
		SELECT n, CASE WHEN n > 0 THEN pg_notify('`+keyward.KeyChangesChannel+`', last::text)::text END FROM s`,
		args...)
	br := db.SendBatch(ctx, &b)
	defer func() {
		if cerr := br.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := br.Exec(); err != nil {
		return 0, err
	}
	if err := br.QueryRow().Scan(&n, nil); err != nil { // nil: pg_notify's empty result
		return 0, err
	}
	return n, nil
}

// KeyChanges returns the changes numbered after since, oldest first, at most
// limit of them (limit <= 0: 1000).
func (q queries) KeyChanges(ctx context.Context, since int64, limit int) ([]keyward.KeyChange, error) {
	if limit <= 0 {
		limit = defaultKeyChangesLimit
	}
	rows, err := q.db.Query(ctx,
		`SELECT seq, key_id, org_id, project_id, at FROM key_changes WHERE seq > $1 ORDER BY seq LIMIT $2`, since, limit)
	return collect(rows, err, scanKeyChange, "postgres: keyChanges(%d)", since)
}

func scanKeyChange(s scanner) (keyward.KeyChange, error) {
	var c keyward.KeyChange
	if err := s.Scan(&c.Seq, &c.KeyID, &c.OrgID, &c.ProjectID, &c.At); err != nil {
		return c, err
	}
	c.At = utc(c.At)
	return c, nil
}

// LatestKeyChange returns the highest change number in the log, 0 when it
// is empty.
func (q queries) LatestKeyChange(ctx context.Context) (int64, error) {
	var seq int64
	if err := q.db.QueryRow(ctx, `SELECT COALESCE(max(seq), 0) FROM key_changes`).Scan(&seq); err != nil {
		return 0, dbError(err, "postgres: latestKeyChange")
	}
	return seq, nil
}

// PruneKeyChanges deletes the changes recorded before t. The identity keeps
// later numbers above every pruned one.
func (q queries) PruneKeyChanges(ctx context.Context, before time.Time) error {
	_, err := q.db.Exec(ctx, `DELETE FROM key_changes WHERE at < $1`, before)
	return dbError(err, "postgres: pruneKeyChanges")
}

// RecordKeyChanges records one change for each of the keys ids that exists,
// without changing the keys, in one transaction (see writeKeys).
func (q queries) RecordKeyChanges(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	return q.atomic(ctx, "recordKeyChanges", func(db dbtx) error {
		_, err := writeKeys(ctx, db, `SELECT id, org_id, COALESCE(project_id, '') AS project_id
			FROM keys WHERE id = ANY($1)`, ids)
		return dbError(err, "postgres: record key changes(%d keys)", len(ids))
	})
}
