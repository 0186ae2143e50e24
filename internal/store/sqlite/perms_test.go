package sqlite

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A fresh database and its WAL and shared memory files are 0600.
func TestNewFilesAreOwnersOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyward.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.write.ExecContext(t.Context(), `CREATE TABLE t (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if perm := st.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", filepath.Base(name), perm)
		}
	}
	if len(s.Tightened()) != 0 {
		t.Errorf("Tightened() = %q on fresh files", s.Tightened())
	}
}

// An existing database whose files others may read is made 0600, and Open
// says so (the server logs it); a 0600 or stricter file is left alone.
func TestLooseFilesAreTightened(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyward.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.WriteFile(path+"-wal", nil, 0o600); err != nil { // an empty WAL, as a crash can leave
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal"} {
		if err := os.Chmod(name, 0o664); err != nil {
			t.Fatal(err)
		}
	}
	s, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := []string{path + " (was 0664)", path + "-wal (was 0664)"}
	if got := s.Tightened(); !slices.Equal(got, want) {
		t.Errorf("Tightened() = %q, want %q", got, want)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if perm := st.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", filepath.Base(name), perm)
		}
	}

	// Stricter is fine: 0400 stays 0400.
	s.Close()
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := prepareFiles(path); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o400 {
		t.Errorf("a 0400 file became %04o", st.Mode().Perm())
	}
}
