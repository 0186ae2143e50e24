package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/internal/apikey"
)

// errKeysFound ends `keyward scan` with exit status 1: it found keys.
var errKeysFound = errors.New("keyward keys found")

// exitCoder is an error that asks main for a status other than 1.
type exitCoder interface{ ExitCode() int }

// scanError is a file scan could not read: exit status 2, so that a hook
// or a CI step tells "keys found" from "could not look".
type scanError struct{ err error }

func (e *scanError) Error() string { return e.err.Error() }
func (e *scanError) Unwrap() error { return e.err }
func (e *scanError) ExitCode() int { return 2 }

// finding is one key found, where it is; never the key itself.
type finding struct {
	Path   string `json:"path"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
	Kind   string `json:"kind"` // project or org
	Hint   string `json:"hint"`
}

func newScanCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "scan [PATH...]",
		Short: "Find keyward keys in files (or stdin) before they leak; exit 1 when any is found",
		Long: `Find keyward API keys (kwp_…, kwo_…) in files, directories (recursively,
skipping .git and binary files) or standard input ("-", or no PATH). A key
is recognized by its format and checksum, so look-alike strings are not
reported. Each key found is printed as FILE:LINE:COLUMN with its kind and
hint, never whole. Exit status: 0 nothing found, 1 keys found, 2 a file
could not be read. --format sarif writes SARIF 2.1.0 for code-scanning
tools instead.

A key found in a file someone else may have seen should be revoked
(keyward keys revoke ID) or rotated, not only deleted from the file.`,
		Example: `  keyward scan .
  git diff --cached --name-only -z | xargs -0 keyward scan   # a pre-commit hook
  keyward scan --format sarif . > keyward.sarif
  printenv | keyward scan`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "sarif" {
				return fmt.Errorf("--format %q: want text or sarif", format)
			}
			if len(args) == 0 {
				args = []string{"-"}
			}
			var found []finding
			var failed error
			for _, a := range args {
				f, err := scanPath(cmd.InOrStdin(), a)
				found = append(found, f...)
				if err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), "keyward scan:", err)
					failed = err
				}
			}
			out := cmd.OutOrStdout()
			if format == "sarif" {
				if err := writeSARIF(out, found); err != nil {
					return err
				}
			} else {
				for _, f := range found {
					fmt.Fprintf(out, "%s:%d:%d: %s key %s\n", f.Path, f.Line, f.Column, f.Kind, f.Hint)
				}
			}
			switch {
			case failed != nil:
				return &scanError{err: errors.New("some files could not be read")}
			case len(found) > 0:
				fmt.Fprintf(cmd.ErrOrStderr(), "%d keyward key(s) found: revoke or rotate them (keyward keys revoke ID), then remove them from the files\n", len(found))
				return errKeysFound
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "text, or sarif (SARIF 2.1.0 for code-scanning tools)")
	return cmd
}

// scanPath scans a file, a directory (recursively) or stdin ("-").
func scanPath(stdin io.Reader, path string) ([]finding, error) {
	if path == "-" {
		b, err := io.ReadAll(io.LimitReader(stdin, maxScanBytes))
		if err != nil {
			return nil, err
		}
		return scanBytes("-", b), nil
	}
	var found []finding
	var failed error
	// A file that cannot be read is reported and the walk goes on.
	skip := func(err error) error { failed = errors.Join(failed, err); return nil }
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return skip(err)
		}
		if d.IsDir() {
			if d.Name() == ".git" && p != path {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := readScanFile(p)
		if err != nil {
			return skip(err)
		}
		found = append(found, scanBytes(p, b)...)
		return nil
	})
	if err != nil {
		return found, err
	}
	return found, failed
}

// maxScanBytes bounds what is read of one file or of stdin.
const maxScanBytes = 64 << 20

// readScanFile reads a file to scan, or nil for a binary one (a NUL byte
// in its first 8 KiB, as git decides).
func readScanFile(p string) ([]byte, error) {
	f, err := os.Open(p) //nolint:gosec // G304: the user names what to scan
	if err != nil {
		return nil, err
	}
	defer f.Close() //nolint:errcheck // read-only
	b, err := io.ReadAll(io.LimitReader(f, maxScanBytes))
	if err != nil {
		return nil, err
	}
	if bytes.IndexByte(b[:min(len(b), 8<<10)], 0) >= 0 {
		return nil, nil
	}
	return b, nil
}

// scanBytes finds the keys in b, with their lines and columns (1-based,
// columns in bytes).
func scanBytes(path string, b []byte) []finding {
	var out []finding
	for _, k := range apikey.Find(b) {
		line := 1 + bytes.Count(b[:k.Offset], []byte("\n"))
		col := k.Offset - bytes.LastIndexByte(b[:k.Offset], '\n')
		kind := "project"
		if k.Prefix == apikey.PrefixOrg {
			kind = "org"
		}
		out = append(out, finding{Path: path, Line: line, Column: col, Kind: kind, Hint: k.Hint})
	}
	return out
}

// writeSARIF writes the findings as a SARIF 2.1.0 log with one run, one
// rule, and one result per key (its hint in the message, never the key).
func writeSARIF(w io.Writer, found []finding) error {
	type region struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn"`
		EndColumn   int `json:"endColumn"`
	}
	type location struct {
		PhysicalLocation struct {
			ArtifactLocation struct {
				URI string `json:"uri"`
			} `json:"artifactLocation"`
			Region region `json:"region"`
		} `json:"physicalLocation"`
	}
	type text struct {
		Text string `json:"text"`
	}
	type result struct {
		RuleID    string     `json:"ruleId"`
		Level     string     `json:"level"`
		Message   text       `json:"message"`
		Locations []location `json:"locations"`
	}
	results := []result{}
	for _, f := range found {
		var l location
		l.PhysicalLocation.ArtifactLocation.URI = filepath.ToSlash(strings.TrimPrefix(f.Path, "./"))
		l.PhysicalLocation.Region = region{StartLine: f.Line, StartColumn: f.Column, EndColumn: f.Column + apikey.Len}
		results = append(results, result{
			RuleID: "keyward-api-key", Level: "error",
			Message:   text{Text: fmt.Sprintf("A keyward %s key (%s) is in this file: revoke or rotate it, then remove it.", f.Kind, f.Hint)},
			Locations: []location{l},
		})
	}
	log := map[string]any{
		"version": "2.1.0",
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"runs": []any{map[string]any{
			"tool": map[string]any{"driver": map[string]any{
				"name":           "keyward scan",
				"informationUri": "https://github.com/keyward/keyward/blob/main/docs/scanning.md",
				"rules": []any{map[string]any{
					"id":               "keyward-api-key",
					"name":             "KeywardAPIKey",
					"shortDescription": text{Text: "A keyward API key in a file"},
					"fullDescription":  text{Text: "A string with the format and checksum of a keyward project (kwp_) or org (kwo_) API key."},
					"help":             text{Text: "Revoke or rotate the key in keyward, then remove it from the file and from its history."},
				}},
			}},
			"results": results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}
