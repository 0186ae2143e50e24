package instance

import "syscall"

// procAttr runs a server as uid:gid (as the test when asUser is false),
// and makes the kernel kill it if the test binary dies first (a panic, a
// go test -timeout), so that no server outlives its test.
func procAttr(asUser bool, uid, gid uint32) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if asUser {
		a.Credential = &syscall.Credential{Uid: uid, Gid: gid}
	}
	return a
}
