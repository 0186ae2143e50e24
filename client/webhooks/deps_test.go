package webhooks_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The package links the standard library only, so that any Go program
// (keyward's server included) can take it without new modules.
func TestDepsStandardLibraryOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep != "github.com/keyward/keyward/client/webhooks" {
			t.Errorf("the package links %s", dep)
		}
	}
}
