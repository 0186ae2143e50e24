package client

import (
	"context"
	"iter"
	"net/url"
	"strconv"

	"github.com/keyward/keyward"
)

// ListParams pages through a list: Limit items per page (0 means the
// server's default of 50; at most 200) starting at Cursor (a previous
// page's NextCursor; "" for the first page).
type ListParams struct {
	Limit  int
	Cursor string
}

// values returns the query parameters of p.
func (p ListParams) values() url.Values {
	q := url.Values{}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	return q
}

// all iterates over every item of every page, starting at cursor, fetching
// pages as the loop asks for them. An error is yielded once and ends the
// iteration.
func all[T any](ctx context.Context, cursor string, fetch func(ctx context.Context, cursor string) (*keyward.Page[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			page, err := fetch(ctx, cursor)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range page.Data {
				if !yield(item, nil) {
					return
				}
			}
			if page.NextCursor == nil || *page.NextCursor == "" || *page.NextCursor == cursor {
				return
			}
			cursor = *page.NextCursor
		}
	}
}

// escape makes an id safe as one path segment.
func escape(id string) string { return url.PathEscape(id) }
