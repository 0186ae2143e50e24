package instance

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Redis is a private redis-server on a loopback port, without
// persistence.
type Redis struct {
	bin  string
	dir  string
	log  string
	port int
	proc *process
}

// NewRedis starts a private Redis, stopped when the test ends.
func NewRedis(t testing.TB) *Redis {
	t.Helper()
	skipShort(t, "a private Redis")
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		unavailable(t, "KEYWARD_TEST_REDIS", "no redis-server on PATH: skipping what needs a private Redis; apt-get install -y redis-server")
	}
	dir := t.TempDir()
	r := &Redis{bin: bin, dir: dir, log: filepath.Join(dir, "redis.log")}
	for try := 0; ; try++ {
		r.port = freePort(t)
		err := r.start()
		if err == nil {
			break
		}
		if try < 3 && strings.Contains(err.Error(), "already in use") {
			continue
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if r.proc != nil {
			if err := r.proc.stop(syscall.SIGTERM, 10*time.Second); err != nil {
				t.Error(err)
			}
		}
	})
	return r
}

// Addr is the server's host:port.
func (r *Redis) Addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

// URL is the server's redis:// URL, database 0.
func (r *Redis) URL() string { return "redis://" + r.Addr() + "/0" }

// Kill ends the server at once (SIGKILL): its clients see their
// connections reset.
func (r *Redis) Kill(t testing.TB) {
	t.Helper()
	if r.proc == nil {
		t.Fatal("Redis is not running")
	}
	r.proc.kill()
	r.proc = nil
}

// Start starts the killed server again on the same port.
func (r *Redis) Start(t testing.TB) {
	t.Helper()
	if err := r.start(); err != nil {
		t.Fatal(err)
	}
}

// Freeze stops the server's process (SIGSTOP): its connections stay open
// and the kernel still takes bytes, but nothing is answered, as with a
// server stuck or a machine paused. Thaw resumes it.
func (r *Redis) Freeze(t testing.TB) {
	t.Helper()
	if err := freeze(r.proc.cmd.Process); err != nil {
		t.Fatal(err)
	}
}

// Thaw resumes a frozen server (SIGCONT).
func (r *Redis) Thaw(t testing.TB) {
	t.Helper()
	if err := thaw(r.proc.cmd.Process); err != nil {
		t.Fatal(err)
	}
}

func (r *Redis) start() error {
	if r.proc != nil {
		return fmt.Errorf("Redis is already running")
	}
	cmd := exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir)
	cmd.SysProcAttr = procAttr(false, 0, 0)
	p, err := start("Redis", cmd, r.log, "Ready to accept connections")
	if err != nil {
		return err
	}
	r.proc = p
	return nil
}
