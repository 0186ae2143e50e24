package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill a node process if the test binary
// dies first (a panic, a go test -timeout), so that no keyward process
// outlives its test holding a database.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
