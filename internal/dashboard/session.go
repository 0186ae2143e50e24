package dashboard

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/clientaddr"
	"github.com/keyward/keyward/internal/httpapi"
	"github.com/keyward/keyward/internal/service"
)

const (
	sessionCookie = "keyward_session"
	flashCookie   = "keyward_flash"
	maxFormBytes  = 64 << 10
)

// page is what a signed-in request knows: who is signed in, their orgs,
// and (on org and project pages) the org, project and what the user may do
// there. Handlers act through Actor, so the service decides everything.
type page struct {
	User    *keyward.User
	Session *keyward.Session
	Orgs    []*keyward.Org
	Org     *keyward.Org
	Project *keyward.Project
	Ab      *service.Abilities
	Actor   *service.Actor
	Flash   *flash
	token   string // the session's token, from its cookie: seals one-time values
}

// flash is a one-time message shown on the page after a redirect. The
// failure of a form outside a dialog carries its Problems instead: by the
// id of the input each concerns, shown next to it (with what was typed
// there, in Typed), not in the page's banner.
type flash struct {
	Error    bool              `json:"e,omitempty"`
	Message  string            `json:"m,omitempty"`
	Problems map[string]string `json:"p,omitempty"`
	Typed    map[string]string `json:"t,omitempty"`
}

func origin(w http.ResponseWriter, r *http.Request) service.Origin {
	return service.Origin{IP: clientaddr.Text(httpapi.ClientAddr(w, r)), UserAgent: r.UserAgent(), RequestID: httpapi.RequestID(w)}
}

// public adapts a handler for pages that need no session.
func (d *dashboard) public(fn func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := fn(w, r); err != nil {
			d.renderError(w, r, nil, err)
		}
	})
}

// signedIn adapts a handler for pages that need a session. It loads the
// org and project named in the path, if any, as the signed-in user; a user
// who may not see them gets the service's NOT_FOUND.
func (d *dashboard) signedIn(fn func(w http.ResponseWriter, r *http.Request, p *page) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		p, err := d.loadPage(w, r)
		if err == nil {
			err = fn(w, r, p)
		}
		if err != nil {
			d.renderError(w, r, p, err)
		}
	})
}

func (d *dashboard) loadPage(w http.ResponseWriter, r *http.Request) (*page, error) {
	ctx := r.Context()
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, keyward.Errorf(keyward.CodeUnauthenticated, "Sign in to continue")
	}
	u, sess, err := d.svc.SessionUser(ctx, c.Value)
	if err != nil {
		return nil, err
	}
	p := &page{User: u, Session: sess, Flash: d.takeFlash(w, r), token: c.Value}
	if p.Orgs, err = d.svc.OrgsForUser(ctx, u.ID); err != nil {
		return nil, err
	}
	orgID := r.PathValue("org")
	if orgID == "" {
		return p, nil
	}
	p.Actor = service.UserActor(u.ID, orgID, origin(w, r))
	prj := r.PathValue("prj")
	if p.Ab, err = d.svc.Abilities(ctx, p.Actor, prj); err != nil {
		return p, err
	}
	if p.Org, err = d.svc.GetOrg(ctx, p.Actor); err != nil {
		return p, err
	}
	if prj != "" {
		if p.Project, err = d.svc.GetProject(ctx, p.Actor, prj); err != nil {
			return p, err
		}
	}
	return p, nil
}

// setSession stores a session token in the cookie. Lax keeps the cookie
// off cross-site POSTs; HttpOnly keeps it away from scripts.
func (d *dashboard) setSession(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: d.secure, SameSite: http.SameSiteLaxMode,
		MaxAge: int(service.SessionAbsolute.Seconds()),
	})
}

func (d *dashboard) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", HttpOnly: true,
		Secure: d.secure, SameSite: http.SameSiteLaxMode, MaxAge: -1,
	})
}

// setFlash leaves a message for the page the browser is redirected to.
func (d *dashboard) setFlash(w http.ResponseWriter, isErr bool, msg string) {
	d.leaveFlash(w, &flash{Error: isErr, Message: msg})
}

// leaveFlash leaves f for the page the browser is redirected to, in a
// cookie that lives a minute.
func (d *dashboard) leaveFlash(w http.ResponseWriter, f *flash) {
	v, err := json.Marshal(f)
	if err != nil {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: flashCookie, Value: url.QueryEscape(string(v)), Path: "/", HttpOnly: true,
		Secure: d.secure, SameSite: http.SameSiteLaxMode, MaxAge: 60,
	})
}

// takeFlash reads the flash message, if any, and clears it so that it is
// shown once.
func (d *dashboard) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: d.secure, SameSite: http.SameSiteLaxMode})
	v, err := url.QueryUnescape(c.Value)
	if err != nil {
		return nil
	}
	var f flash
	if json.Unmarshal([]byte(v), &f) != nil || (f.Message == "" && len(f.Problems) == 0) {
		return nil
	}
	f.Message = truncate(f.Message, 300)
	for id, m := range f.Problems {
		f.Problems[id] = truncate(m, 300)
	}
	return &f
}

// redirect ends a POST with Post/Redirect/Get, leaving a flash message.
func (d *dashboard) redirect(w http.ResponseWriter, r *http.Request, to string, msg string) error {
	if msg != "" {
		d.setFlash(w, false, msg)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// redirectOnce ends a POST that made a one-time value (a secret, a link)
// with Post/Redirect/Get: the value waits server-side for the page at to,
// which gets it with takeOnce, once.
func (d *dashboard) redirectOnce(w http.ResponseWriter, r *http.Request, p *page, to string, value any, msg string) error {
	sep := "?"
	if strings.Contains(to, "?") {
		sep = "&"
	}
	id, err := d.putOnce(r.Context(), p.Session.ID, p.token, value)
	if err != nil {
		return err
	}
	return d.redirect(w, r, to+sep+onceArg+"="+id, msg)
}

// takeOnce returns the one-time value the request's URL names, or nil.
// gone reports that the URL names one that is no longer here (shown
// already, expired, or another session's): the page says so.
func (d *dashboard) takeOnce(r *http.Request, p *page) (value any, gone bool) {
	nonce := r.URL.Query().Get(onceArg)
	if nonce == "" || p.Session == nil {
		return nil, false
	}
	v, err := d.takeOnceValue(r.Context(), p.Session.ID, p.token, nonce)
	if err != nil {
		d.log.ErrorContext(r.Context(), "dashboard: cannot read a one-time value", "err", err)
	}
	return v, v == nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
