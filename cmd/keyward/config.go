package main

import (
	"github.com/keyward/keyward"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

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

// durationFlag is a time.Duration flag written as people write durations
// (7d, 24h, 90d; keyward.ParseDuration) and shown the same way in help.
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return keyward.Duration(*f.d).Human()
}

func (f durationFlag) Set(s string) error {
	d, err := keyward.ParseDuration(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

func (durationFlag) Type() string { return "duration" }

// durationVar defines a durationFlag with a default.
func durationVar(fs *pflag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	fs.Var(durationFlag{p}, name, usage)
}
