package dashboard

import "testing"

func TestSafeNextStaysOnSite(t *testing.T) {
	for next, want := range map[string]string{
		"/orgs/org_1/projects": "/orgs/org_1/projects",
		"/keys?status=all":     "/keys?status=all",
		"":                     "/",
		"https://evil.example": "/",
		"//evil.example":       "/",
		"/\\evil.example":      "/",
		"/\t/evil.example":     "/",
		"/\n/evil.example":     "/",
		"/\t\\evil.example":    "/",
		"/\x7f/evil.example":   "/",
		"/a\\b":                "/",
		"javascript:alert(1)":  "/",
		"/%09/evil.example":    "/%09/evil.example", // still encoded: a path on this site
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}
