// Package dashboard is keyward's web dashboard: server-rendered pages
// (html/template) with a little vanilla JavaScript, all embedded in the
// binary. It signs users in with sessions and calls the service layer as
// the signed-in user; every permission is decided there.
package dashboard

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Config holds what the dashboard needs.
type Config struct {
	Service *service.Service
	Logger  *slog.Logger
	// Secure marks cookies Secure (set when keyward is served over TLS).
	Secure bool
	// Clock is the service's clock (defaults to the wall clock). Pages send
	// its time along so that grace-period countdowns agree with the server
	// even when the browser's clock does not.
	Clock keyward.Clock
}

// dashboard serves the pages. Sessions live in the store; the only state
// of its own besides the parsed templates is once, the one-time values
// waiting for the page a POST redirects to (see onetime.go).
type dashboard struct {
	svc    *service.Service
	log    *slog.Logger
	secure bool
	clock  keyward.Clock
	pages  map[string]*pageTemplate
}

// New returns the dashboard's handler, to be mounted at "/".
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = keyward.SystemClock{}
	}
	d := &dashboard{svc: cfg.Service, log: cfg.Logger, secure: cfg.Secure, clock: cfg.Clock, pages: mustParsePages()}
	mux := http.NewServeMux()
	d.routes(mux)

	// Cross-origin state changes are refused before any handler runs: the
	// browser's Sec-Fetch-Site (or Origin) header tells them apart. Together
	// with SameSite=Lax cookies this is the dashboard's CSRF protection.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.renderError(w, r, nil, keyward.Denied("This request came from another site and was refused"))
	}))
	return securityHeaders(cop.Handler(mux))
}

func (d *dashboard) routes(mux *http.ServeMux) {
	static, _ := fs.Sub(assets, "static")
	files := http.FileServerFS(static)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	})))

	mux.Handle("GET /login", d.public(d.loginPage))
	mux.Handle("POST /login", d.public(d.login))
	mux.Handle("POST /logout", d.signedIn(d.logout))
	mux.Handle("GET /setup", d.public(d.setupPage))
	mux.Handle("POST /setup", d.public(d.setup))
	mux.Handle("GET /setup/done", d.signedIn(d.setupDonePage))
	mux.Handle("GET /reset", d.public(d.resetPage))
	mux.Handle("POST /reset", d.public(d.reset))
	mux.Handle("GET /account", d.signedIn(d.accountPage))
	mux.Handle("POST /account/password", d.signedIn(d.changePassword))

	mux.Handle("GET /{$}", d.signedIn(d.home))
	mux.Handle("GET /orgs", d.signedIn(d.switchOrg))
	mux.Handle("GET /orgs/new", d.signedIn(d.newOrgPage))
	mux.Handle("POST /orgs", d.signedIn(d.createOrg))
	mux.Handle("GET /invite", d.public(d.invitePage))
	mux.Handle("POST /invite", d.signedIn(d.acceptInvite))
	mux.Handle("POST /invite/password", d.public(d.acceptInviteWithPassword))
	mux.Handle("GET /orgs/{org}", d.signedIn(d.orgHome))
	mux.Handle("GET /orgs/{org}/projects", d.signedIn(d.projectsPage))
	mux.Handle("POST /orgs/{org}/projects", d.signedIn(d.createProject))
	mux.Handle("POST /orgs/{org}/projects/{prj}/rename", d.signedIn(d.renameProject))
	mux.Handle("POST /orgs/{org}/projects/{prj}/delete", d.signedIn(d.deleteProject))

	p := "/orgs/{org}/projects/{prj}"
	mux.Handle("GET "+p, d.signedIn(d.projectHome))
	mux.Handle("GET "+p+"/keys", d.signedIn(d.keysPage))
	mux.Handle("POST "+p+"/keys", d.signedIn(d.createKey))
	mux.Handle("GET "+p+"/keys/{key}", d.signedIn(d.keyPage))
	mux.Handle("POST "+p+"/keys/{key}/rename", d.signedIn(d.renameKey))
	mux.Handle("POST "+p+"/keys/{key}/rotate", d.signedIn(d.rotateKey))
	mux.Handle("POST "+p+"/keys/{key}/revoke", d.signedIn(d.revokeKey))
	mux.Handle("GET "+p+"/members", d.signedIn(d.projectMembersPage))
	mux.Handle("POST "+p+"/members", d.signedIn(d.addProjectMember))
	mux.Handle("POST "+p+"/members/{user}/role", d.signedIn(d.setProjectRole))
	mux.Handle("POST "+p+"/members/{user}/remove", d.signedIn(d.removeProjectMember))
	mux.Handle("GET "+p+"/settings", d.signedIn(d.projectSettingsPage))
	mux.Handle("POST "+p+"/settings", d.signedIn(d.updateProjectSettings))
	mux.Handle("GET "+p+"/audit", d.signedIn(d.projectAuditPage))

	o := "/orgs/{org}"
	mux.Handle("GET "+o+"/keys", d.signedIn(d.keysPage))
	mux.Handle("POST "+o+"/keys", d.signedIn(d.createKey))
	mux.Handle("GET "+o+"/keys/{key}", d.signedIn(d.keyPage))
	mux.Handle("POST "+o+"/keys/{key}/rename", d.signedIn(d.renameKey))
	mux.Handle("POST "+o+"/keys/{key}/rotate", d.signedIn(d.rotateKey))
	mux.Handle("POST "+o+"/keys/{key}/revoke", d.signedIn(d.revokeKey))
	mux.Handle("GET "+o+"/members", d.signedIn(d.orgMembersPage))
	mux.Handle("POST "+o+"/members", d.signedIn(d.addOrgMember))
	mux.Handle("POST "+o+"/members/{user}/role", d.signedIn(d.setOrgRole))
	mux.Handle("POST "+o+"/members/{user}/remove", d.signedIn(d.removeOrgMember))
	mux.Handle("POST "+o+"/members/{user}/reset-password", d.signedIn(d.resetMemberPassword))
	mux.Handle("POST "+o+"/invitations/{inv}/revoke", d.signedIn(d.revokeInvitation))
	mux.Handle("GET "+o+"/settings", d.signedIn(d.orgSettingsPage))
	mux.Handle("POST "+o+"/settings", d.signedIn(d.updateOrgSettings))
	mux.Handle("GET "+o+"/audit", d.signedIn(d.orgAuditPage))
	mux.Handle("GET "+o+"/webhooks", d.signedIn(d.webhooksPage))
	mux.Handle("POST "+o+"/webhooks", d.signedIn(d.createWebhook))
	mux.Handle("GET "+o+"/webhooks/{wh}", d.signedIn(d.webhookPage))
	mux.Handle("POST "+o+"/webhooks/{wh}/settings", d.signedIn(d.updateWebhook))
	mux.Handle("POST "+o+"/webhooks/{wh}/enabled", d.signedIn(d.setWebhookEnabled))
	mux.Handle("POST "+o+"/webhooks/{wh}/test", d.signedIn(d.testWebhook))
	mux.Handle("POST "+o+"/webhooks/{wh}/rotate", d.signedIn(d.rotateWebhook))
	mux.Handle("POST "+o+"/webhooks/{wh}/delete", d.signedIn(d.deleteWebhook))
	mux.Handle("POST "+o+"/webhooks/{wh}/deliveries/{dlv}/redeliver", d.signedIn(d.redeliverWebhook))

	mux.Handle("/", d.public(func(w http.ResponseWriter, r *http.Request) error {
		return keyward.NotFound("page")
	}))
}

// securityHeaders sets what every response needs: no caching (pages hold
// private data, and secrets right after create and rotate), a strict
// Content-Security-Policy (scripts and styles only from our own files, no
// inline code), and no framing (clickjacking on the Revoke button).
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "+
			"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}
