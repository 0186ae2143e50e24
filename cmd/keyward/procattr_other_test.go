//go:build !linux

package main

import "os/exec"

// dieWithParent has no portable equivalent outside Linux: there the nodes
// are stopped by the tests' cleanups only.
func dieWithParent(*exec.Cmd) {}
