// Command keyward is the keyward server and its command-line client.
//
//	keyward serve       run the server
//	keyward bootstrap   create the first org and owner on an empty store
//	keyward keys …      manage API keys on a running server
//	keyward projects …  manage projects on a running server
//	keyward whoami      show the caller's key
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "keyward:", err)
		os.Exit(1)
	}
}
