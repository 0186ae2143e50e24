package service

import (
	"encoding/base64"
	"strings"

	"github.com/keyward/keyward"
)

// Page sizes (README, "The API in one screen").
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// pageArgs checks a limit and decodes an opaque cursor into the id it
// stands for.
func pageArgs(limit int, cursor string) (int, string, error) {
	switch {
	case limit == 0:
		limit = DefaultPageSize
	case limit < 0 || limit > MaxPageSize:
		return 0, "", keyward.Invalid(keyward.FieldError{Field: "limit", Problem: "must be between 1 and " + itoa(MaxPageSize)})
	}
	if cursor == "" {
		return limit, "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	id := string(raw)
	if err != nil || !cursorID(id) {
		return 0, "", keyward.Invalid(keyward.FieldError{Field: "cursor", Problem: "is not a cursor this API returned"})
	}
	return limit, id, nil
}

// cursorID reports whether id could be the id a cursor points after.
func cursorID(id string) bool { return len(id) <= 64 && strings.Contains(id, "_") }

// encodeCursor makes the opaque cursor that points after id.
func encodeCursor(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

// makePage trims a result fetched with limit+1 rows into a page and its
// next cursor.
func makePage[T any](items []T, limit int, id func(T) string) *keyward.Page[T] {
	p := &keyward.Page[T]{Data: items}
	if len(items) > limit {
		p.Data = items[:limit]
		c := encodeCursor(id(items[limit-1]))
		p.NextCursor = &c
	}
	if p.Data == nil {
		p.Data = []T{}
	}
	return p
}
