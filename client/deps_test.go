package client_test

import (
	"os/exec"
	"strings"
	"testing"
)

// A service that uses the SDK links neither database nor Redis driver:
// the SDK shares the server's key cache (internal/verify), not its feeds.
func TestSDKLinksNoServerDrivers(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, driver := range []string{"github.com/jackc/pgx", "github.com/redis/go-redis", "modernc.org/sqlite"} {
			if strings.HasPrefix(dep, driver) {
				t.Errorf("the SDK links %s", dep)
			}
		}
	}
}
