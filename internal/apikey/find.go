package apikey

// Found is a key found in a text: where it starts (a byte offset), its
// prefix, and its hint. The key itself is not kept, so that what reports
// it cannot print it.
type Found struct {
	Offset int
	Prefix string
	Hint   string
}

// Find returns the keys in text: 40-character strings that Parse accepts
// (a kwp_ or kwo_ prefix, base62 characters and a valid checksum) and
// that stand alone, not inside a longer run of key characters. A
// look-alike (a typo, a made-up example, a hash that happens to start
// with kwp_) fails the checksum and is not reported.
func Find(text []byte) []Found {
	var found []Found
	for i := 0; i+Len <= len(text); i++ {
		if text[i] != 'k' || text[i+1] != 'w' || (text[i+2] != 'p' && text[i+2] != 'o') || text[i+3] != '_' {
			continue
		}
		if i > 0 && keyByte(text[i-1]) {
			continue // inside a longer token
		}
		if i+Len < len(text) && keyByte(text[i+Len]) {
			continue
		}
		s := string(text[i : i+Len])
		prefix, err := Parse(s)
		if err != nil {
			continue
		}
		found = append(found, Found{Offset: i, Prefix: prefix, Hint: Hint(s)})
		i += Len - 1
	}
	return found
}

// keyByte reports whether c can be part of a key: a base62 digit or '_'.
func keyByte(c byte) bool { return base62[c] || c == '_' }
