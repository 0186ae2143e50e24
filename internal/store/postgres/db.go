package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"github.com/keyward/keyward"
)

// dbtx is what *pgxpool.Pool and pgx.Tx have in common.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// queries implements keyward.Queries on the pool, or on one transaction
// when inTx is set. Every method is atomic on its own, in or out of a
// transaction: a single statement, or (the key writes) a transaction begun
// by atomic when not already in one.
type queries struct {
	db   dbtx
	inTx bool
}

var _ keyward.Queries = queries{}

// SQLSTATE codes the store maps to the error contract.
const (
	codeUniqueViolation   = "23505"
	codeNotInRepertoire   = "22021" // a NUL byte or invalid UTF-8 in text
	codeUntranslatable    = "22P05" // \u0000 in jsonb
	codeSerialization     = "40001"
	codeDeadlock          = "40P01"
	codeLockNotAvailable  = "55P03"
	classConnection       = "08"
	classResources        = "53" // too many connections, disk full, out of memory
	classOperatorInterven = "57" // admin shutdown, cannot connect now (57014, a cancelled query, too)
)

// dbError turns a driver error into the store's error contract: an
// unreachable or closed database, or a transient failure the caller may
// retry, is UNAVAILABLE; text PostgreSQL cannot store is INVALID_REQUEST;
// anything else (a foreign key violation included, as on SQLite) is wrapped
// with the operation's context and reads as INTERNAL. The format never
// carries secrets.
func dbError(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var kerr *keyward.Error
	if errors.As(err, &kerr) {
		return err
	}
	wrapped := fmt.Errorf(format+": %w", append(args, err)...)
	if unavailable(err) {
		return keyward.Unavailable(wrapped)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == codeNotInRepertoire || pgErr.Code == codeUntranslatable) {
		e := keyward.Errorf(keyward.CodeInvalidRequest, "The request contains text that cannot be stored (a NUL character)")
		e.Err = wrapped
		return e
	}
	return wrapped
}

// unavailable reports whether err means the database cannot be used right
// now, as opposed to a bad query or a constraint.
func unavailable(err error) bool {
	if errors.Is(err, puddle.ErrClosedPool) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || pgconn.Timeout(err) {
		return true
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case codeSerialization, codeDeadlock, codeLockNotAvailable:
			return true
		}
		for _, class := range []string{classConnection, classResources, classOperatorInterven} {
			if strings.HasPrefix(pgErr.Code, class) {
				return true
			}
		}
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == codeUniqueViolation
}

// conflict returns a CONFLICT error with a public message when err is a
// unique violation, and dbError's answer otherwise.
func conflict(err error, public string, format string, args ...any) error {
	if isUnique(err) {
		e := keyward.Errorf(keyward.CodeConflict, "%s", public)
		e.Err = fmt.Errorf(format+": %w", append(args, err)...)
		return e
	}
	return dbError(err, format, args...)
}

// insert runs an INSERT … ON CONFLICT DO NOTHING and returns CONFLICT with
// the public message when it inserted nothing. Detecting the duplicate
// without a failed statement keeps an enclosing transaction usable, as it
// is on SQLite (a failed statement aborts a PostgreSQL transaction).
func (q queries) insert(ctx context.Context, public, op, sql string, args ...any) error {
	tag, err := q.db.Exec(ctx, sql+` ON CONFLICT DO NOTHING`, args...)
	if err != nil {
		return conflict(err, public, "postgres: %s", op)
	}
	if tag.RowsAffected() == 0 {
		e := keyward.Errorf(keyward.CodeConflict, "%s", public)
		e.Err = fmt.Errorf("postgres: %s: duplicate row", op)
		return e
	}
	return nil
}

// mustAffect returns NOT_FOUND(what) when tag changed no row.
func mustAffect(tag pgconn.CommandTag, what string) error {
	if tag.RowsAffected() == 0 {
		return keyward.NotFound(what)
	}
	return nil
}

// notFound maps pgx.ErrNoRows to NOT_FOUND(what) and other errors as
// dbError does.
func notFound(err error, what string, format string, args ...any) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return keyward.NotFound(what)
	}
	return dbError(err, format, args...)
}

// utc returns t in UTC: pgx reads timestamptz in the local time zone.
func utc(t time.Time) time.Time { return t.UTC() }

// utcPtr reads an optional time in UTC.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// toJSON encodes v for a jsonb column. nil slices and maps become the empty
// value, so reads always return [] and {} rather than null.
func toJSON(v any) ([]byte, error) {
	switch x := v.(type) {
	case []string:
		if x == nil {
			return []byte("[]"), nil
		}
	case map[string]string:
		if x == nil {
			return []byte("{}"), nil
		}
	case map[string]any:
		if x == nil {
			return []byte("{}"), nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("postgres: encode json: %w", err)
	}
	return b, nil
}

// stringsFromJSON decodes a jsonb list into a non-nil slice.
func stringsFromJSON(b []byte) ([]string, error) {
	out := []string{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("postgres: decode json list: %w", err)
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// mapFromJSON decodes a jsonb object into a non-nil map.
func mapFromJSON[V any](b []byte) (map[string]V, error) {
	out := map[string]V{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("postgres: decode json object: %w", err)
	}
	if out == nil {
		out = map[string]V{}
	}
	return out, nil
}

// digestArg stores a digest; nil (or empty) is NULL, so an erased digest can
// never be matched.
func digestArg(d []byte) any {
	if len(d) == 0 {
		return nil
	}
	return d
}

// sqlLimit turns "0 = no limit" into PostgreSQL's "LIMIT NULL = no limit".
func sqlLimit(limit int) any {
	if limit <= 0 {
		return nil
	}
	return limit
}

// params numbers query parameters ($1, $2, …) as conditions are added.
type params []any

// add appends v and returns its placeholder.
func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
}

// scanner is what pgx.Row and pgx.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}

// collect reads every row of a query with scan into a non-nil slice.
func collect[T any](rows pgx.Rows, err error, scan func(scanner) (T, error), format string, args ...any) ([]T, error) {
	if err != nil {
		return nil, dbError(err, format, args...)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, dbError(err, format, args...)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, format, args...)
	}
	return out, nil
}
