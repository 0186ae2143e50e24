package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/store/migrations"
)

// migrationFS holds the schema, one forward-only step per file, named
// NNNN_description.sql. A released file is never edited: changes go in a new
// file with the next number.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migrateLockKey is the advisory lock that serializes migrations of one
// database ("keyward1" in ASCII). Advisory locks are per database, so
// databases sharing a server do not wait for each other.
const migrateLockKey int64 = 0x6b65797761726431

// migration is one numbered schema step.
type migration = migrations.Step

// loadMigrations reads the embedded migrations in version order.
func loadMigrations() ([]migration, error) {
	ms, err := migrations.Load(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return ms, nil
}

// Migrate connects to the database at url, applies any pending migrations
// and disconnects. It is what `keyward migrate` runs; Open does the same
// before serving.
func Migrate(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("postgres: invalid database URL")
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = connectTimeout
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return dbError(err, "postgres: migrate: connect")
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return migrate(ctx, conn)
}

// beginner is what *pgx.Conn and *pgxpool.Pool have in common.
type beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// migrate applies the pending embedded migrations.
func migrate(ctx context.Context, db beginner) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	return applyMigrations(ctx, db, ms)
}

// applyMigrations applies those of ms (in version order) that the database
// has not applied yet, in one transaction that first takes an advisory lock:
// of several nodes starting together, one applies them and the others,
// waiting for the lock, then find nothing left to do. A failed step leaves
// the schema as it was. Each applied step is recorded in schema_migrations.
// A database newer than this binary is refused. Tests pass a prefix of the
// embedded migrations to build a database as an older binary left it.
func applyMigrations(ctx context.Context, db beginner, ms []migration) error {
	if len(ms) == 0 {
		return fmt.Errorf("postgres: migrate: no migrations")
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return dbError(err, "postgres: migrate: begin")
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit

	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey); err != nil {
		return dbError(err, "postgres: migrate: lock")
	}
	// Under the lock, and READ COMMITTED: each statement below sees what an
	// earlier holder committed.
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL
	)`); err != nil {
		return dbError(err, "postgres: migrate: create schema_migrations")
	}
	var current int
	if err := tx.QueryRow(ctx,
		`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return dbError(err, "postgres: migrate: read version")
	}
	if latest := ms[len(ms)-1].Version; current > latest {
		return fmt.Errorf("postgres: database schema version %d is newer than this binary's %d", current, latest)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		// No arguments: pgx sends the file with the simple protocol, which
		// runs every statement in it.
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return dbError(err, "postgres: migrate: apply %s", m.Name)
		}
		if _, err := tx.Exec(ctx,
			`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.Version, m.Name, keyward.SystemClock{}.Now()); err != nil {
			return dbError(err, "postgres: migrate: record %s", m.Name)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return dbError(err, "postgres: migrate: commit")
	}
	return nil
}
