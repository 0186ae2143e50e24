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
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/keyward/keyward"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "keyward:", describe(err))
		os.Exit(1)
	}
}

// describe renders an error for a person: domain errors as "CODE: message"
// with the fields at fault; anything else as it is.
func describe(err error) string {
	var e *keyward.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	msg := e.Code + ": " + e.Message
	for _, d := range e.Details {
		msg += fmt.Sprintf("\n  %s %s", d.Field, d.Problem)
	}
	if e.Err != nil {
		msg += fmt.Sprintf(" (%v)", e.Err)
	}
	return msg
}
