package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migrationFS holds the schema, one forward-only step per file, named
// NNNN_description.sql. A released file is never edited: changes go in a new
// file with the next number.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one numbered schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the embedded migrations in version order.
func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("sqlite: list migrations: %w", err)
	}
	var ms []migration
	seen := map[int]string{}
	for _, path := range names {
		name := strings.TrimPrefix(path, "migrations/")
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlite: migration %q: name must start with a positive number and '_'", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("sqlite: migrations %q and %q share version %d", prev, name, v)
		}
		seen[v] = name
		b, err := migrationFS.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("sqlite: read migration %q: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// migrate applies the pending migrations in one IMMEDIATE transaction, so
// two processes opening a new file at once do not both apply them, and a
// failed step leaves the schema as it was. Each applied step is recorded in
// schema_migrations. A database newer than this binary is refused.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	return applyMigrations(ctx, db, ms)
}

// applyMigrations applies those of ms (in version order) that db has not
// applied yet. migrate passes every embedded migration; tests pass a prefix
// to build a database as an older binary left it.
func applyMigrations(ctx context.Context, db *sql.DB, ms []migration) error {
	if len(ms) == 0 {
		return fmt.Errorf("sqlite: migrate: no migrations")
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return dbError(err, "sqlite: migrate: begin")
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return dbError(err, "sqlite: migrate: create schema_migrations")
	}
	var current int
	if err := tx.QueryRowContext(ctx,
		`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return dbError(err, "sqlite: migrate: read version")
	}
	if latest := ms[len(ms)-1].version; current > latest {
		return fmt.Errorf("sqlite: database schema version %d is newer than this binary's %d", current, latest)
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return dbError(err, "sqlite: migrate: apply %s", m.name)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, micros(time.Now())); err != nil {
			return dbError(err, "sqlite: migrate: record %s", m.name)
		}
	}
	if err := tx.Commit(); err != nil {
		return dbError(err, "sqlite: migrate: commit")
	}
	return nil
}
