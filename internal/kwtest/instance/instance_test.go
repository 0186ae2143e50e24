package instance

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// A private PostgreSQL keeps its data through a restart, and is down
// between Stop and Start.
func TestPostgres(t *testing.T) {
	pg := NewPostgres(t)
	ctx := context.Background()
	exec := func(sql string) error {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(cctx, pg.URL("postgres"))
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(cctx, sql)
		return err
	}
	if err := exec("CREATE TABLE t (x int); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	pg.Stop(t)
	if err := exec("SELECT 1"); err == nil {
		t.Fatal("a stopped server answered")
	}
	pg.Start(t)
	if err := exec("SELECT x FROM t"); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	pg.Restart(t)
	if err := exec("SELECT x FROM t"); err != nil {
		t.Fatalf("after Restart: %v", err)
	}
}

// A frozen Redis keeps connections but answers nothing; a killed one
// refuses them; both come back.
func TestRedis(t *testing.T) {
	r := NewRedis(t)
	ctx := context.Background()
	ping := func(timeout time.Duration) error {
		opts, err := redis.ParseURL(r.URL())
		if err != nil {
			t.Fatal(err)
		}
		opts.MaxRetries = -1
		opts.DialTimeout, opts.ReadTimeout = timeout, timeout
		c := redis.NewClient(opts)
		defer c.Close()
		return c.Ping(ctx).Err()
	}
	if err := ping(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	r.Freeze(t)
	if err := ping(200 * time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("PING to a frozen Redis: %v, want a timeout", err)
	}
	r.Thaw(t)
	if err := ping(5 * time.Second); err != nil {
		t.Fatalf("after Thaw: %v", err)
	}
	r.Kill(t)
	if err := ping(time.Second); err == nil {
		t.Fatal("a killed Redis answered")
	}
	r.Start(t)
	if err := ping(5 * time.Second); err != nil {
		t.Fatalf("after Start: %v", err)
	}
}
