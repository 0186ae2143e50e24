package instance

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Postgres is a private PostgreSQL server: user postgres, trust
// authentication, on 127.0.0.1 and a socket directory of its own.
type Postgres struct {
	bin     string // directory of initdb and postgres
	data    string
	sockets string
	log     string
	port    int
	// asUser runs the server as uid:gid, the OS user postgres, when the
	// test is root.
	asUser   bool
	uid, gid uint32
	proc     *process
}

// NewPostgres initializes and starts a private PostgreSQL server, stopped
// when the test ends. As root (as in CI) it runs as the OS user postgres:
// PostgreSQL refuses to run as root.
func NewPostgres(t testing.TB) *Postgres {
	t.Helper()
	skipShort(t, "a private PostgreSQL")
	bin := postgresBin()
	if bin == "" {
		unavailable(t, "KEYWARD_TEST_POSTGRES", "no PostgreSQL server binaries (initdb, postgres in /usr/lib/postgresql/*/bin or on PATH): skipping what needs a private PostgreSQL; apt-get install -y postgresql")
	}
	dir := t.TempDir()
	sockets, err := os.MkdirTemp("", "kwpg") // short: a socket path has at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockets) })
	pg := &Postgres{bin: bin, data: filepath.Join(dir, "data"), sockets: sockets, log: filepath.Join(dir, "postgres.log")}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			unavailable(t, "KEYWARD_TEST_POSTGRES", "running as root without an OS user postgres to run a private PostgreSQL as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, d := range []string{dir, sockets} {
			if err := os.Chown(d, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
		// The test's temporary directory is root's, 0700: let the
		// postgres user through to its own directory in it.
		if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
			t.Fatal(err)
		}
		pg.asUser, pg.uid, pg.gid = true, uint32(uid), uint32(gid)
	}

	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", pg.data, "-U", "postgres", "-A", "trust",
		"--no-sync", "--no-locale", "-E", "UTF8")
	initdb.SysProcAttr = procAttr(pg.asUser, pg.uid, pg.gid)
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}

	for try := 0; ; try++ {
		pg.port = freePort(t)
		err := pg.start()
		if err == nil {
			break
		}
		if try < 3 && strings.Contains(err.Error(), "already in use") {
			continue // the free port was taken meanwhile
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := pg.stop(); err != nil {
			t.Error(err)
		}
	})
	return pg
}

// postgresBin finds the directory of the newest PostgreSQL server
// binaries: Debian's /usr/lib/postgresql/VERSION/bin, else PATH.
func postgresBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(d string) int {
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		return v
	}
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("postgres"); err == nil {
			return filepath.Dir(p)
		}
	}
	return ""
}

// Addr is the server's host:port.
func (pg *Postgres) Addr() string { return fmt.Sprintf("127.0.0.1:%d", pg.port) }

// URL is the URL of database db on the server, as user postgres.
func (pg *Postgres) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", pg.Addr(), db)
}

// Stop shuts the server down (fast: sessions are ended, as by
// pg_ctl stop -m fast) and waits until it has exited.
func (pg *Postgres) Stop(t testing.TB) {
	t.Helper()
	if err := pg.stop(); err != nil {
		t.Fatal(err)
	}
}

// Start starts the stopped server again, on the same port and data, and
// waits until it accepts connections.
func (pg *Postgres) Start(t testing.TB) {
	t.Helper()
	if err := pg.start(); err != nil {
		t.Fatal(err)
	}
}

// Restart is Stop then Start, as pg_ctl restart -m fast.
func (pg *Postgres) Restart(t testing.TB) {
	t.Helper()
	pg.Stop(t)
	pg.Start(t)
}

func (pg *Postgres) start() error {
	if pg.proc != nil {
		return fmt.Errorf("PostgreSQL is already running")
	}
	cmd := exec.Command(filepath.Join(pg.bin, "postgres"), "-D", pg.data, "-p", strconv.Itoa(pg.port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+pg.sockets,
		// A test database need not survive a crash of the machine.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200")
	cmd.SysProcAttr = procAttr(pg.asUser, pg.uid, pg.gid)
	p, err := start("PostgreSQL", cmd, pg.log, "database system is ready to accept connections")
	if err != nil {
		return err
	}
	pg.proc = p
	return nil
}

func (pg *Postgres) stop() error {
	if pg.proc == nil {
		return nil
	}
	err := pg.proc.stop(syscall.SIGINT, 30*time.Second) // SIGINT: fast shutdown
	pg.proc = nil
	return err
}
