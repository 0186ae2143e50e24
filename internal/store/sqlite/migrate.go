package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"time"

	"github.com/keyward/keyward/internal/store/migrations"
)

// migrationFS holds the schema, one forward-only step per file, named
// NNNN_description.sql. A released file is never edited: changes go in a new
// file with the next number.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one numbered schema step.
type migration = migrations.Step

// loadMigrations reads the embedded migrations in version order.
func loadMigrations() ([]migration, error) {
	ms, err := migrations.Load(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
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
	if latest := ms[len(ms)-1].Version; current > latest {
		return fmt.Errorf("sqlite: database schema version %d is newer than this binary's %d", current, latest)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return dbError(err, "sqlite: migrate: apply %s", m.Name)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, micros(time.Now())); err != nil {
			return dbError(err, "sqlite: migrate: record %s", m.Name)
		}
	}
	if err := tx.Commit(); err != nil {
		return dbError(err, "sqlite: migrate: commit")
	}
	return nil
}
