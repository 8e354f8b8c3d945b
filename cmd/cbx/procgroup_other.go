//go:build !unix

package main

import (
	"os/exec"
	"time"
)

func killGroupOnCancel(cmd *exec.Cmd) { cmd.WaitDelay = 2 * time.Second }
