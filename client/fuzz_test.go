package client

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzPresentedKey feeds arbitrary x-api-key and Authorization values to
// the middleware's credential parser: it never panics, a key it returns
// came from one of the headers, and failures are only MISSING or AMBIGUOUS.
func FuzzPresentedKey(f *testing.F) {
	f.Add("kwp_abc", "Bearer kwp_abc")
	f.Add("", "bearer   kwp_x ")
	f.Add("kwp_a", "Bearer kwp_b")
	f.Add(" ", "Basic dXNlcjpwYXNz")
	f.Fuzz(func(t *testing.T, apiKey, auth string) {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header["X-Api-Key"] = []string{apiKey}
		r.Header["Authorization"] = []string{auth}
		key, e := presentedKey(r)
		if e != nil {
			if e.Code != "API_KEY_MISSING" && e.Code != "AMBIGUOUS_CREDENTIALS" || key != "" {
				t.Fatalf("presentedKey = %q, %+v", key, e)
			}
			return
		}
		if key == "" || (!strings.Contains(apiKey, key) && !strings.Contains(auth, key)) {
			t.Fatalf("presentedKey = %q, not from %q / %q", key, apiKey, auth)
		}
	})
}
