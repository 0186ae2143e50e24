//go:build unix && !linux

package instance

import "syscall"

// procAttr runs a server as uid:gid (as the test when asUser is false).
// Without Linux's parent-death signal, a server may outlive a test binary
// that dies.
func procAttr(asUser bool, uid, gid uint32) *syscall.SysProcAttr {
	if !asUser {
		return nil
	}
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
}
