package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/keyward/keyward"
)

// dbtx is what *sql.DB and *sql.Tx have in common.
type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries implements keyward.Queries. Inside a transaction r and w are both
// the *sql.Tx and db is nil; outside one, r is the read pool, w the write
// pool, and db (the write pool) starts transactions for methods that write
// more than one statement.
type queries struct {
	r  dbtx
	w  dbtx
	db *sql.DB
}

var _ keyward.Queries = queries{}

// atomic runs fn in the current transaction, or in a new one outside a
// transaction, so multi-statement writes never land halfway.
func (q queries) atomic(ctx context.Context, what string, fn func(w dbtx) error) error {
	if q.db == nil {
		return fn(q.w)
	}
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return dbError(err, "sqlite: %s: begin", what)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return dbError(err, "sqlite: %s: commit", what)
	}
	return nil
}

// dbError turns a driver error into the store's error contract: an
// unreachable, closed or locked database is UNAVAILABLE; anything else is
// wrapped with the operation's context. The format never carries secrets.
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
	return wrapped
}

// unavailable reports whether err means the database cannot be used right
// now, as opposed to a bad query or a constraint.
func unavailable(err error) bool {
	if errors.Is(err, sql.ErrConnDone) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	// database/sql does not export its "database is closed" error.
	if strings.Contains(err.Error(), "sql: database is closed") {
		return true
	}
	var serr *sqlite.Error
	if errors.As(err, &serr) {
		switch serr.Code() & 0xff { // the primary result code
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY,
			sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_PROTOCOL:
			return true
		}
	}
	return false
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	var serr *sqlite.Error
	if !errors.As(err, &serr) {
		return false
	}
	c := serr.Code()
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
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

// mustAffect returns NOT_FOUND(what) when res changed no row.
func mustAffect(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return dbError(err, "sqlite: rows affected")
	}
	if n == 0 {
		return keyward.NotFound(what)
	}
	return nil
}

// notFound maps sql.ErrNoRows to NOT_FOUND(what) and other errors as
// dbError does.
func notFound(err error, what string, format string, args ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return keyward.NotFound(what)
	}
	return dbError(err, format, args...)
}

// micros stores a time as unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros reads a time stored by micros, in UTC.
func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// nullMicros stores an optional time; nil is NULL.
func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

// timePtr reads an optional time.
func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// nullString stores an optional string; nil is NULL.
func nullString(s *string) sql.NullString {
	if s == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *s, Valid: true}
}

// stringPtr reads an optional string.
func stringPtr(v sql.NullString) *string {
	if !v.Valid {
		return nil
	}
	s := v.String
	return &s
}

// toJSON encodes v for a JSON text column. nil slices and maps become the
// empty value, so reads always return [] and {} rather than null.
func toJSON(v any) (string, error) {
	switch x := v.(type) {
	case []string:
		if x == nil {
			return "[]", nil
		}
	case map[string]string:
		if x == nil {
			return "{}", nil
		}
	case map[string]any:
		if x == nil {
			return "{}", nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("sqlite: encode json: %w", err)
	}
	return string(b), nil
}

// stringsFromJSON decodes a JSON list column into a non-nil slice.
func stringsFromJSON(s string) ([]string, error) {
	out := []string{}
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("sqlite: decode json list: %w", err)
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// mapFromJSON decodes a JSON object column into a non-nil map.
func mapFromJSON[V any](s string) (map[string]V, error) {
	out := map[string]V{}
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("sqlite: decode json object: %w", err)
	}
	if out == nil {
		out = map[string]V{}
	}
	return out, nil
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}
