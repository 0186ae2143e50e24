package keyward

import (
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Identity headers: the verified key as an API behind a proxy receives it,
// from keyward's forward-auth answers (docs/forward-auth.md) and from
// `keyward proxy`. Each is always set on a request let through (empty
// when the key has no such value), so that a proxy copying them
// overwrites whatever a client sent under the same names.
const (
	HeaderKeyID     = "Keyward-Key-Id"
	HeaderProjectID = "Keyward-Project-Id"
	HeaderOwnerID   = "Keyward-Owner-Id" // the owner's user id; empty for a key without an owner
	HeaderScopes    = "Keyward-Scopes"   // comma-separated, as the key holds them now
	HeaderMetadata  = "Keyward-Metadata" // a JSON object, non-ASCII escaped; {} when none
)

// SetIdentityHeaders sets every identity header for the verified key k.
func SetIdentityHeaders(h http.Header, k *Key) {
	owner := ""
	if k.OwnerUserID != nil {
		owner = *k.OwnerUserID
	}
	h.Set(HeaderKeyID, k.ID)
	h.Set(HeaderProjectID, k.ProjectID)
	h.Set(HeaderOwnerID, owner)
	h.Set(HeaderScopes, strings.Join(k.Scopes, ","))
	h.Set(HeaderMetadata, metadataHeader(k.Metadata))
}

// metadataHeader is m as a JSON object with every non-ASCII character
// escaped (\uXXXX), so that it travels in a header value unchanged
// (encoding/json escapes control characters itself); {} when empty.
func metadataHeader(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	raw, err := json.Marshal(m) // keys sorted
	if err != nil {
		return "{}"
	}
	var b strings.Builder
	for _, r := range string(raw) {
		if r < utf8.RuneSelf {
			b.WriteRune(r)
			continue
		}
		if r > 0xFFFF { // a surrogate pair
			r -= 0x10000
			writeU(&b, 0xD800+(r>>10))
			r = 0xDC00 + r&0x3FF
		}
		writeU(&b, r)
	}
	return b.String()
}

func writeU(b *strings.Builder, r rune) {
	const hex = "0123456789abcdef"
	b.WriteString(`\u`)
	b.WriteByte(hex[r>>12&0xF])
	b.WriteByte(hex[r>>8&0xF])
	b.WriteByte(hex[r>>4&0xF])
	b.WriteByte(hex[r&0xF])
}
