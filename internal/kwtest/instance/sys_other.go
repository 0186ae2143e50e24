//go:build !unix

package instance

import (
	"errors"
	"os"
	"syscall"
)

// Private servers run only where PostgreSQL and Redis do (Unix): the
// tests skip elsewhere, finding no binaries; these keep the package
// building.
func procAttr(asUser bool, uid, gid uint32) *syscall.SysProcAttr { return nil }
func freeze(p *os.Process) error                                 { return errors.New("freeze: not supported") }
func thaw(p *os.Process) error                                   { return errors.New("thaw: not supported") }
