package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// fileMode is the mode of the database file and of the WAL and shared
// memory files next to it: they hold key digests, password hashes and
// sessions, so only the owner may read them. SQLite gives the -wal and
// -shm files the mode of the database file, so creating that one 0600
// is enough for all three.
const fileMode fs.FileMode = 0o600

// prepareFiles creates the database file at path with mode 0600 when it
// does not exist, and tightens an existing database file, and its -wal and
// -shm files, that others may read or write to 0600. It returns the files
// it tightened, with their old modes, for the operator's log: a looser mode
// is almost always an accident (a copied file, a umask), never needed by
// keyward, which runs as the files' owner.
func prepareFiles(path string) ([]string, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, fileMode) //nolint:gosec // G304: the database file the operator named
	if err == nil {
		return nil, f.Close()
	}
	if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("sqlite: create %q: %w", path, err)
	}
	var tightened []string
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: stat %q: %w", name, err)
		}
		if !st.Mode().IsRegular() || st.Mode().Perm()&^fileMode == 0 {
			continue
		}
		if err := os.Chmod(name, st.Mode().Perm()&fileMode); err != nil {
			return nil, fmt.Errorf("sqlite: %q may be read by others (mode %04o) and cannot be made 0600: %w", name, st.Mode().Perm(), err)
		}
		tightened = append(tightened, fmt.Sprintf("%s (was %04o)", name, st.Mode().Perm()))
	}
	return tightened, nil
}

// Tightened lists the files Open found readable or writable by others and
// made 0600, with their old modes; the server logs them.
func (s *Store) Tightened() []string { return s.tightened }
