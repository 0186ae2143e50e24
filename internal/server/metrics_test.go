package server

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
)

// A database file others may read is made 0600 on start, and the log says
// which file and its old mode.
func TestLooseDatabaseFileIsTightenedAndLogged(t *testing.T) {
	path := t.TempDir() + "/k.db"
	if err := os.WriteFile(path, nil, 0o644); err != nil { // an empty file is an empty database
		t.Fatal(err)
	}
	var logs bytes.Buffer
	srv, err := New(context.Background(), Config{Database: "sqlite:" + path}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Store.Close()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o, want 0600", st.Mode().Perm())
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "k.db (was 0644)") {
		t.Errorf("log %q: want a warning naming the file and its old mode", logs.String())
	}
}
