package service

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/keyward/keyward"
)

// Input limits: every string is length-limited. Lengths of text are
// counted in characters; the OpenAPI document states the same numbers.
const (
	MaxNameLen      = 200 // a key's, project's, org's or person's name, trimmed
	MaxReasonLen    = 500 // a revocation's reason
	MaxScopes       = 50  // scopes of a key, custom scopes of a project, scopes of a verification
	maxScopeLen     = 100
	MaxAllowlist    = 100 // entries of a key's IP allowlist
	MaxMetadataKeys = 50  // entries of a key's metadata
	MaxMetaKeyLen   = 40  // a metadata entry's name
	MaxMetaValueLen = 500 // a metadata entry's value
	MaxEmailLen     = 254
	MaxProjectRoles = 100 // project roles given in one request
	MaxVerifyKeyLen = 200 // the key of a verification, in bytes
	MaxAuditFilter  = 100 // an audit log filter's action or actor, in bytes
)

// checkText validates a human-entered string: valid UTF-8, no control
// characters, not blank (unless optional), at most max characters. It
// returns the string trimmed.
func checkText(field, s string, max int, optional bool) (string, *keyward.FieldError) {
	if !utf8.ValidString(s) {
		return "", &keyward.FieldError{Field: field, Problem: "must be valid UTF-8"}
	}
	s = strings.TrimSpace(s)
	if s == "" && !optional {
		return "", &keyward.FieldError{Field: field, Problem: "is required"}
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", &keyward.FieldError{Field: field, Problem: "must be at most " + itoa(max) + " characters"}
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", &keyward.FieldError{Field: field, Problem: "must not contain control characters"}
		}
	}
	return s, nil
}

// checkCustomScopes validates a project's custom scopes and returns them
// de-duplicated.
func checkCustomScopes(scopes []string) ([]string, *keyward.FieldError) {
	if len(scopes) > MaxScopes {
		return nil, &keyward.FieldError{Field: "custom_scopes", Problem: "at most 50"}
	}
	out := []string{}
	for _, sc := range scopes {
		if !keyward.ValidScopeName(sc) {
			return nil, &keyward.FieldError{Field: "custom_scopes", Problem: "each must look like resource:action in lower case"}
		}
		if slices.Contains(keyward.ProjectScopes, sc) {
			return nil, &keyward.FieldError{Field: "custom_scopes", Problem: sc + " is a built-in scope"}
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// checkScopes validates requested key scopes against those allowed for the
// key's kind and project. nil means all of them (full access).
func checkScopes(requested, allowed []string) ([]string, *keyward.FieldError) {
	if requested == nil {
		return slices.Clone(allowed), nil
	}
	if len(requested) > MaxScopes {
		return nil, &keyward.FieldError{Field: "scopes", Problem: "at most 50"}
	}
	out := []string{}
	for _, sc := range requested {
		if len(sc) > maxScopeLen || !slices.Contains(allowed, sc) {
			return nil, &keyward.FieldError{Field: "scopes", Problem: "unknown scope " + quoteSafe(sc)}
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// checkAllowlist parses IPs and CIDRs (IPv4 and IPv6) into canonical CIDRs.
func checkAllowlist(list []string) ([]string, *keyward.FieldError) {
	if len(list) > MaxAllowlist {
		return nil, &keyward.FieldError{Field: "ip_allowlist", Problem: "at most 100 entries"}
	}
	out := []string{}
	for _, s := range list {
		p, err := parsePrefix(s)
		if err != nil {
			return nil, &keyward.FieldError{Field: "ip_allowlist", Problem: quoteSafe(s) + " is not an IP address or CIDR"}
		}
		if !slices.Contains(out, p.String()) {
			out = append(out, p.String())
		}
	}
	return out, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if addr.Zone() != "" {
		// A zone would be dropped silently (as ParsePrefix refuses it).
		return netip.Prefix{}, fmt.Errorf("IPv6 zones are not allowed")
	}
	return netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()), nil
}

// checkMetadata limits a key's metadata.
func checkMetadata(m map[string]string) (map[string]string, *keyward.FieldError) {
	if len(m) > MaxMetadataKeys {
		return nil, &keyward.FieldError{Field: "metadata", Problem: "at most 50 keys"}
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if k == "" || utf8.RuneCountInString(k) > MaxMetaKeyLen || !utf8.ValidString(k) || hasControl(k) {
			return nil, &keyward.FieldError{Field: "metadata", Problem: "keys must be 1 to 40 printable characters"}
		}
		if utf8.RuneCountInString(v) > MaxMetaValueLen || !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return nil, &keyward.FieldError{Field: "metadata", Problem: "values must be valid UTF-8 of at most 500 characters, without NUL"}
		}
		out[k] = v
	}
	return out, nil
}

// checkEmail does the light check that catches typos; delivery is the
// real test.
func checkEmail(s string) (string, *keyward.FieldError) {
	s = strings.ToLower(strings.TrimSpace(s))
	at := strings.LastIndexByte(s, '@')
	if len(s) > MaxEmailLen || at < 1 || at == len(s)-1 || strings.ContainsAny(s, " \t\r\n<>\"") || !utf8.ValidString(s) || hasControl(s) {
		return "", &keyward.FieldError{Field: "email", Problem: "must be an email address"}
	}
	return s, nil
}

// slugify makes a URL-friendly slug from a name.
func slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if b.Len() >= 60 {
			break
		}
		switch {
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" {
		return "project"
	}
	return s
}

// SlugPattern is the shape of a slug: 1 to 60 of a-z, 0-9 and "-", not
// starting or ending with "-".
const SlugPattern = `^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$`

var slugRE = regexp.MustCompile(SlugPattern)

func checkSlug(s string) *keyward.FieldError {
	if !slugRE.MatchString(s) {
		return &keyward.FieldError{Field: "slug", Problem: "must be 1 to 60 lower-case letters, digits and dashes"}
	}
	return nil
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// quoteSafe shortens and quotes user input for an error message.
func quoteSafe(s string) string {
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return strings.ToValidUTF8(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, `"`+s+`"`), "")
}

func itoa(n int) string { return strconv.Itoa(n) }

// invalid turns field errors into one INVALID_REQUEST error, or nil.
func invalid(errs ...*keyward.FieldError) error {
	var details []keyward.FieldError
	for _, e := range errs {
		if e != nil {
			details = append(details, *e)
		}
	}
	if len(details) == 0 {
		return nil
	}
	return keyward.Invalid(details...)
}

// checkRateLimit validates a key's rate limit; nil means none.
func checkRateLimit(rl *keyward.RateLimit) (*keyward.RateLimit, *keyward.FieldError) {
	if rl == nil {
		return nil, nil
	}
	if rl.Limit < 1 || rl.Limit > keyward.MaxRateLimit {
		return nil, &keyward.FieldError{Field: "rate_limit.limit", Problem: "must be 1 to 1000000"}
	}
	if w := rl.Window.Std(); w < keyward.MinRateLimitWindow || w > keyward.MaxRateLimitWindow {
		return nil, &keyward.FieldError{Field: "rate_limit.window", Problem: `must be "1s" to "24h"`}
	}
	out := *rl // a copy: the caller's input is not the key's
	return &out, nil
}
