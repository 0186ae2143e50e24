// Package migrations reads a store's embedded schema steps: forward-only
// files named NNNN_description.sql, one numbered step each. Each store
// applies them in its own dialect and records them in schema_migrations.
package migrations

import (
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// Step is one numbered schema step.
type Step struct {
	Version int
	Name    string
	SQL     string
}

// Load reads every dir/*.sql of fsys in version order. A file whose name
// does not start with a positive number and '_', or two files with one
// number, are errors: a released step is never renumbered or edited.
func Load(fsys fs.FS, dir string) ([]Step, error) {
	paths, err := fs.Glob(fsys, dir+"/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var steps []Step
	seen := map[int]string{}
	for _, path := range paths {
		name := strings.TrimPrefix(path, dir+"/")
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must start with a positive number and '_'", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %q and %q share version %d", prev, name, v)
		}
		seen[v] = name
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", name, err)
		}
		steps = append(steps, Step{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].Version < steps[j].Version })
	return steps, nil
}
