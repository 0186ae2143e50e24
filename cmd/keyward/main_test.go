package main

import (
	"os"
	"testing"
)

// envRunMain makes the test binary stand in for the keyward binary.
const envRunMain = "KEYWARD_TEST_RUN_MAIN"

// TestMain runs main() instead of the tests when KEYWARD_TEST_RUN_MAIN=1.
// The multi-node tests (nodes_test.go) start their keyward processes this
// way: the binary is the one go test already built (with -race when the
// tests run with it), so they need no separate go build.
func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		main() // exits 1 itself on an error
		os.Exit(0)
	}
	os.Exit(m.Run())
}
