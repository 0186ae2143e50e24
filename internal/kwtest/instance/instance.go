// Package instance starts private PostgreSQL and Redis servers for tests
// that stop, restart, freeze or partition their database or Redis: each
// has its own data directory in the test's temporary directory and its
// own loopback port, so the servers other tests share are never touched.
// The servers stop when the test ends.
//
// Without the server binaries a test skips, except in CI (CI=true) when
// the service's test variable (KEYWARD_TEST_POSTGRES, KEYWARD_TEST_REDIS)
// is set: there the tests needing the service are mandatory, and a
// missing binary fails them.
package instance

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds a server's start: a hang guard (they start in well
// under a second).
const startTimeout = 30 * time.Second

// unavailable skips t because a service's binaries are missing, or fails
// it where the service is mandatory.
func unavailable(t testing.TB, env, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" && os.Getenv(env) != "" {
		t.Fatalf("%s — and in CI, with %s set, the tests needing it are mandatory", msg, env)
	}
	t.Skip(msg)
}

// freePort returns a loopback port nobody listens on now. Another process
// may take it before the server does; start then fails with "address in
// use", and the caller tries another.
// skipShort skips t under go test -short: private servers take seconds
// to start, and the tests that need them run for longer still.
func skipShort(t testing.TB, what string) {
	if testing.Short() {
		t.Skip("-short: skipping what needs " + what)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// process is a server running as a child of the test, its output copied
// to a log file, with a signal for the line that says it is ready.
type process struct {
	name   string
	cmd    *exec.Cmd
	log    string        // the file with the server's output
	ready  chan struct{} // closed at the ready line
	exited chan struct{} // closed once the process has exited
}

// start runs cmd and waits for a line of its output containing readyLine.
// It returns an error, with the log, if the process exits first.
func start(name string, cmd *exec.Cmd, logPath, readyLine string) (*process, error) {
	p := &process{name: name, cmd: cmd, log: logPath, ready: make(chan struct{}), exited: make(chan struct{})}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		_ = logf.Close() // the error below is the one to report
		return nil, err
	}
	cmd.Stderr = cmd.Stdout // one stream: the order of lines is kept
	if err := cmd.Start(); err != nil {
		_ = logf.Close() // the error below is the one to report
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		defer close(p.exited)
		var once sync.Once
		lines := bufio.NewScanner(out)
		for lines.Scan() {
			fmt.Fprintf(logf, "%s\n", lines.Bytes())
			if strings.Contains(lines.Text(), readyLine) {
				once.Do(func() { close(p.ready) })
			}
		}
		// The rest (after a line too long for the scanner) goes to the log
		// as is. The log is kept as well as can be, and the exit status is
		// not this helper's to judge (tests stop and kill these processes
		// on purpose): none of these errors has anywhere to go.
		_, _ = io.Copy(logf, out)
		_ = logf.Close()
		_ = cmd.Wait()
	}()
	select {
	case <-p.ready:
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("%s exited before it was ready:\n%s", name, p.tail())
	case <-time.After(startTimeout):
		p.kill()
		return nil, fmt.Errorf("%s not ready within %v:\n%s", name, startTimeout, p.tail())
	}
}

// stop sends sig and waits for the process to exit; after timeout it
// kills it and reports that as an error.
func (p *process) stop(sig syscall.Signal, timeout time.Duration) error {
	_ = thaw(p.cmd.Process) // a frozen process would not handle sig
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
		return nil
	case <-time.After(timeout):
		p.kill()
		return fmt.Errorf("%s did not exit within %v of %v; killed", p.name, timeout, sig)
	}
}

func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// tail is the last lines of the log, for failure messages.
func (p *process) tail() string {
	b, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}
