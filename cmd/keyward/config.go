package main

import (
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/keyward/keyward/internal/jsonlog"
)

// bindEnv makes every flag of cmd that was not given on the command line
// read KEYWARD_<NAME> (dashes become underscores), as README's Configuration says.
func bindEnv(cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || err != nil {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			err = cmd.Flags().Set(f.Name, v)
		}
	})
	return err
}

// envName is the variable that sets flag: KEYWARD_<FLAG>, dashes as
// underscores.
func envName(flag string) string {
	return "KEYWARD_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// newLogger logs JSON, or text when format is "text" or stderr is a
// terminal and no format was chosen. JSON request lines are written in
// batches; close writes those still held back.
func newLogger(w io.Writer, format string) (log *slog.Logger, close func()) {
	if format == "" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, nil)), func() {}
	}
	h := jsonlog.NewBatchingHandler(w, jsonlog.BatchEvery)
	return slog.New(h), func() { _ = h.Close() }
}
