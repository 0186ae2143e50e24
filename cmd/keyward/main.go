// Command keyward is the keyward server and its command-line client.
//
//	keyward serve       run the server
//	keyward bootstrap   create the first org and owner on an empty store
//	keyward keys …      manage API keys on a running server
//	keyward projects …  manage projects on a running server
//	keyward whoami      show the caller's key
//	keyward members …   add, change and remove the org's people; invitations
//	keyward webhooks …  the org's webhook endpoints and their deliveries
//	keyward audit …, settings …  the org's log and limits
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/keyward/keyward"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		if errors.Is(err, errKeysFound) {
			os.Exit(1) // scan has said what it found
		}
		fmt.Fprintln(os.Stderr, "keyward: "+describe(err))
		var ec exitCoder
		if errors.As(err, &ec) {
			os.Exit(ec.ExitCode())
		}
		os.Exit(1)
	}
}

// describe renders an error for a person, after the "keyward: " that main
// writes: domain errors as "CODE: message (request id)" with the fields at
// fault one per line, hints on a line of their own, and anything else as
// it is, without a "keyward: " of its own.
func describe(err error) string {
	var h *hinted
	if errors.As(err, &h) {
		return describe(h.err) + "\n" + h.hint
	}
	var e *keyward.Error
	if !errors.As(err, &e) {
		return strings.TrimPrefix(err.Error(), "keyward: ")
	}
	msg := e.Code + ": " + e.Message
	if e.RequestID != "" {
		msg += " (" + e.RequestID + ")"
	}
	for _, d := range e.Details {
		msg += fmt.Sprintf("\n  %s: %s", d.Field, d.Problem)
	}
	if e.Err != nil {
		msg += fmt.Sprintf(" (%v)", e.Err)
	}
	return msg
}
