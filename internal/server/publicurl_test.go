package server

import "testing"

// Links keyward shows start with --public-url, or with http://ADDR when it
// is not set (a wildcard host becomes 127.0.0.1).
func TestPublicURLDefault(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Addr: "127.0.0.1:8080", PublicURL: "https://keys.example.com"}, "https://keys.example.com"},
		{Config{Addr: "127.0.0.1:8080"}, "http://127.0.0.1:8080"},
		{Config{Addr: ":8080"}, "http://127.0.0.1:8080"},
		{Config{Addr: "0.0.0.0:9000"}, "http://127.0.0.1:9000"},
		{Config{Addr: "[::1]:8080"}, "http://[::1]:8080"},
	} {
		if got := tc.cfg.publicURL(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.cfg, got, tc.want)
		}
	}
}
