// Package dashboard is keyward's web dashboard: server-rendered pages
// (html/template) with a little vanilla JavaScript, all embedded in the
// binary. It signs users in with sessions and calls the service layer as
// the signed-in user; every permission is decided there.
package dashboard

import (
	"log/slog"
	"net/http"

	"github.com/keyward/keyward/internal/service"
)

// Config holds what the dashboard needs.
type Config struct {
	Service *service.Service
	Logger  *slog.Logger
	// Secure marks cookies Secure (set when keyward is served over TLS).
	Secure bool
}

// New returns the dashboard's handler, to be mounted at "/".
func New(cfg Config) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})
	return mux
}
