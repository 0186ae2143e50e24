package service

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyward/keyward"
)

// keyCursor is a place in a list of keys, as its opaque cursor holds it:
// the key a page goes on from, in which order and which way.
type keyCursor struct {
	order keyward.KeyOrder
	back  bool
	pos   keyward.KeyPos
}

// encode makes the cursor. Forward in the default order it is the id
// alone, as every list's cursor; otherwise "<id> <order> next|prev
// <last use in µs>|never".
func (c keyCursor) encode() string {
	if c.order == keyward.OrderNewest && !c.back {
		return encodeCursor(c.pos.ID)
	}
	dir, used := "next", "never"
	if c.back {
		dir = "prev"
	}
	if c.pos.LastUsedAt != nil {
		used = strconv.FormatInt(c.pos.LastUsedAt.UnixMicro(), 10)
	}
	order := string(c.order)
	if order == "" {
		order = "newest"
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join([]string{c.pos.ID, order, dir, used}, " ")))
}

// decodeKeyCursor reads a cursor made by encode for a list in order; ""
// is the start (nil). A cursor of another order is refused: its place
// means nothing there.
func decodeKeyCursor(cursor string, order keyward.KeyOrder) (*keyCursor, error) {
	if cursor == "" {
		return nil, nil
	}
	bad := keyward.Invalid(keyward.FieldError{Field: "cursor", Problem: "is not a cursor this API returned for this order"})
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(raw) > 128 {
		return nil, bad
	}
	parts := strings.Split(string(raw), " ")
	c := &keyCursor{pos: keyward.KeyPos{ID: parts[0]}}
	if len(parts) == 1 {
		c.order = keyward.OrderNewest // the id alone
	} else {
		if len(parts) != 4 || (parts[2] != "next" && parts[2] != "prev") {
			return nil, bad
		}
		c.order, c.back = keyward.KeyOrder(parts[1]), parts[2] == "prev"
		if c.order == "newest" {
			c.order = keyward.OrderNewest
		}
		if parts[3] != "never" {
			us, err := strconv.ParseInt(parts[3], 10, 64)
			if err != nil {
				return nil, bad
			}
			c.pos.LastUsedAt = new(time.UnixMicro(us).UTC())
		}
	}
	if !cursorID(c.pos.ID) || c.order != order || !slices.Contains(keyward.KeyOrders, c.order) {
		return nil, bad
	}
	return c, nil
}
