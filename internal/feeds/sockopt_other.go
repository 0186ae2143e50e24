//go:build !linux

package feeds

import (
	"syscall"
	"time"
)

// userTimeout is a no-op where TCP_USER_TIMEOUT is not available; the
// feed's heartbeat still finds a dead connection.
func userTimeout(time.Duration) func(network, address string, c syscall.RawConn) error {
	return nil
}
