package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestDeployComposeExample runs what deploy/docker-compose.yml runs, without
// Docker (there is no daemon here): the migrate service's command, then a
// node's, each with the compose file's KEYWARD_* environment, then the
// nodes' healthcheck command. Only the values that name the compose network
// change (the database and Redis URLs, the listen address, the pepper); the
// variable names, commands and flags are read from the file, so an example
// that names a flag keyward does not have, or a command it does not know,
// fails here.
func TestDeployComposeExample(t *testing.T) {
	dbBase, redisURL := os.Getenv("KEYWARD_TEST_POSTGRES"), os.Getenv("KEYWARD_TEST_REDIS")
	if dbBase == "" || redisURL == "" {
		t.Skip("KEYWARD_TEST_POSTGRES and KEYWARD_TEST_REDIS not both set: skipping the compose example test")
	}
	ex := readCompose(t, "../../deploy/docker-compose.yml")

	// Every variable but the pepper must name a flag of `serve`: bindEnv
	// ignores any other, which would silently drop a setting. The migrate
	// service shares the environment and needs only the database.
	for _, c := range []struct {
		name string
		vars []string
	}{{ex.serve[0], keys(ex.env)}, {ex.migrate[0], []string{"KEYWARD_DATABASE"}}} {
		sub, _, err := newRootCmd().Find([]string{c.name})
		if err != nil || sub.Name() != c.name {
			t.Fatalf("the compose file runs %q, which keyward does not know", c.name)
		}
		read := map[string]bool{}
		sub.Flags().VisitAll(func(f *pflag.Flag) { read[envName(f.Name)] = true })
		for _, name := range c.vars {
			if name != pepperEnv && !read[name] {
				t.Errorf("%s (given to %q) sets no flag of it", name, c.name)
			}
		}
	}
	for _, want := range []string{"KEYWARD_DATABASE", "KEYWARD_REDIS", pepperEnv, "KEYWARD_ADDR", "KEYWARD_TRUSTED_PROXIES"} {
		if _, ok := ex.env[want]; !ok {
			t.Errorf("the nodes' environment has no %s", want)
		}
	}
	if t.Failed() {
		return
	}

	var dbName string
	local := map[string]string{
		"KEYWARD_DATABASE": newDatabase(t, dbBase, &dbName),
		"KEYWARD_REDIS":    redisURL,
		pepperEnv:          testPepper,
		"KEYWARD_ADDR":     "127.0.0.1:0",
		// The proxy's address on the compose network, here loopback.
		"KEYWARD_TRUSTED_PROXIES": "127.0.0.1/32",
	}
	withEnv := func(args []string) *exec.Cmd {
		c := runKeyward(args...)
		for name := range ex.env {
			c.Env = append(c.Env, name+"="+local[name])
		}
		return c
	}

	if out, err := withEnv(ex.migrate).CombinedOutput(); err != nil {
		t.Fatalf("the migrate service's command failed: %v\n%s", err, out)
	}
	n := startNodeCmd(t, t.TempDir(), 0, withEnv(ex.serve))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node log:\n%s", n.problems())
		}
	})
	n.waitListening(t)

	// The node runs on what the environment names: the test database (not
	// a SQLite file it would fall back to) and Redis as its feed.
	started := startLine(t, n.log)
	if started.Store != "postgres" || started.Feed != "postgres+redis" {
		t.Errorf("the node started on store %q with feed %q, want postgres and postgres+redis", started.Store, started.Feed)
	}
	if started.TrustedProxies != "127.0.0.1/32" {
		t.Errorf("the node trusts proxies %q, want 127.0.0.1/32 from KEYWARD_TRUSTED_PROXIES", started.TrustedProxies)
	}
	conns, err := adminQuery(dbBase, "SELECT 1 FROM pg_stat_activity WHERE datname = $1", dbName)
	if err != nil || conns == 0 {
		t.Errorf("no connection to the test database %s (%v): the node did not use KEYWARD_DATABASE", dbName, err)
	}

	// The healthcheck, pointed at this node instead of the container's
	// loopback port.
	hc := append([]string(nil), ex.healthcheck...)
	for i, a := range hc {
		if strings.HasPrefix(a, "http://") {
			hc[i] = n.url
		}
	}
	if out, err := withEnv(hc).CombinedOutput(); err != nil {
		t.Fatalf("the healthcheck %q failed against a ready node: %v\n%s", hc, err, out)
	}
}

// composeExample is what TestDeployComposeExample reads from the compose
// file: the shared KEYWARD_* environment and the keyward commands.
type composeExample struct {
	env                         map[string]string
	migrate, serve, healthcheck []string
}

var (
	serviceLine = regexp.MustCompile(`^  ([a-z0-9]+):`)
	envLine     = regexp.MustCompile(`^\s+(KEYWARD_[A-Z_]+):\s*(.*)$`)
	listValue   = regexp.MustCompile(`\[(.*)\]`)
)

func readCompose(t *testing.T, path string) composeExample {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ex := composeExample{env: map[string]string{}}
	service := ""
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		l := lines.Text()
		if m := serviceLine.FindStringSubmatch(l); m != nil {
			service = m[1]
		}
		if m := envLine.FindStringSubmatch(l); m != nil {
			ex.env[m[1]] = m[2]
		}
		trimmed := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(trimmed, "command:") && service == "migrate":
			ex.migrate = list(t, trimmed)
		case strings.HasPrefix(trimmed, "command:") && service == "keyward1":
			ex.serve = list(t, trimmed)
		case strings.HasPrefix(trimmed, "test:") && service == "keyward1":
			cmd := list(t, trimmed)
			if len(cmd) < 3 || cmd[0] != "CMD" || cmd[1] != "/keyward" {
				t.Fatalf("the nodes' healthcheck %q does not run /keyward", cmd)
			}
			ex.healthcheck = cmd[2:]
		}
	}
	if len(ex.migrate) == 0 || len(ex.serve) == 0 || len(ex.healthcheck) == 0 || len(ex.env) == 0 {
		t.Fatalf("did not find the migrate and keyward1 commands, the healthcheck and the environment in %s: %+v", path, ex)
	}
	return ex
}

// list parses a YAML flow list of double-quoted strings: ["a", "b"].
func list(t *testing.T, line string) []string {
	t.Helper()
	m := listValue.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("not a list: %s", line)
	}
	var out []string
	for _, item := range strings.Split(m[1], ",") {
		item = strings.TrimSpace(item)
		if len(item) < 2 || item[0] != '"' || item[len(item)-1] != '"' {
			t.Fatalf("not a quoted string: %s in %s", item, line)
		}
		out = append(out, item[1:len(item)-1])
	}
	return out
}

// startLine reads the node's "keyward listening" log line from its log
// file.
func startLine(t *testing.T, path string) (l struct {
	Msg, Store, Feed string
	TrustedProxies   string `json:"trusted_proxies"`
}) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "keyward listening" {
			return l
		}
	}
	t.Fatalf("no start line in the node's log:\n%s", data)
	return l
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
