package dashboard

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

// authForm is the data of the sign-in, setup, reset and account forms:
// what was typed (never a password) and what was wrong with it.
type authForm struct {
	Email    string
	Org      string
	Token    string
	Next     string
	Error    string
	Problems map[string]string
}

// safeNext keeps a post-sign-in redirect on this site: a plain path. Not
// "//host" or "/\host", and no control characters or backslashes at all:
// browsers drop tabs and newlines from URLs, so "/\t/host" would become
// "//host", another site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || len(next) > 500 ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}

func (d *dashboard) loginPage(w http.ResponseWriter, r *http.Request) error {
	f := authForm{Next: r.URL.Query().Get("next")}
	var p *page
	if fl := d.takeFlash(w, r); fl != nil {
		p = &page{Flash: fl}
	}
	return d.render(w, r, http.StatusOK, "login", p, "Sign in", "", f)
}

func (d *dashboard) login(w http.ResponseWriter, r *http.Request) error {
	f := authForm{Email: r.PostFormValue("email"), Next: r.PostFormValue("next")}
	token, _, err := d.svc.Login(r.Context(), f.Email, r.PostFormValue("password"), origin(w, r))
	if err != nil {
		e := keyward.AsError(err)
		switch e.Code {
		case keyward.CodeUnauthenticated, keyward.CodeRateLimited:
			// Shown on the form itself; the message never says which of
			// email and password was wrong.
			f.Error = e.Message
			if e.RetryAfter > 0 {
				w.Header().Set("Retry-After", retryAfter(e))
			}
			return d.render(w, r, httpStatus(e.Code), "login", nil, "Sign in", "", f)
		}
		return err
	}
	d.setSession(w, token)
	http.Redirect(w, r, safeNext(f.Next), http.StatusSeeOther)
	return nil
}

func (d *dashboard) logout(w http.ResponseWriter, r *http.Request, p *page) error {
	if err := d.svc.Logout(r.Context(), p.Session); err != nil {
		return err
	}
	d.clearSession(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

func (d *dashboard) setupPage(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	if !d.svc.SetupTokenValid(token) {
		return keyward.Errorf(keyward.CodeNotFound, "This setup link is invalid, used or expired")
	}
	return d.render(w, r, http.StatusOK, "setup", nil, "Set up keyward", "", authForm{Token: token})
}

// setupDone is shown once after setup: it holds the secret of the org key
// that setup makes, which is not shown again.
type setupDone struct {
	Org    *keyward.Org
	Secret *keyward.Key
}

func (d *dashboard) setup(w http.ResponseWriter, r *http.Request) error {
	f := authForm{Token: r.PostFormValue("token"), Org: r.PostFormValue("org"), Email: r.PostFormValue("email")}
	res, session, err := d.svc.Setup(r.Context(), f.Token, service.BootstrapInput{
		OrgName: f.Org, Email: f.Email, Password: r.PostFormValue("password"),
	}, origin(w, r))
	if err != nil {
		if keyward.ErrorCode(err) == keyward.CodeInvalidRequest {
			f.Error, f.Problems = keyward.AsError(err).Message, problems(err)
			return d.render(w, r, http.StatusBadRequest, "setup", nil, "Set up keyward", "", f)
		}
		return err
	}
	d.setSession(w, session)
	_, sess, err := d.svc.SessionUser(r.Context(), session)
	if err != nil {
		return err
	}
	// The org key's secret waits for the page this redirects to, once.
	return d.redirectOnce(w, r, &page{Session: sess, token: session}, "/setup/done", &setupDone{Org: res.Org, Secret: res.OrgKey}, "")
}

// setupDonePage shows the org key that setup made, once; a reload shows
// only the way on.
func (d *dashboard) setupDonePage(w http.ResponseWriter, r *http.Request, p *page) error {
	v, _ := d.takeOnce(r, p)
	done, ok := v.(*setupDone)
	if !ok {
		return d.redirect(w, r, "/", "")
	}
	return d.render(w, r, http.StatusOK, "setup_done", p, "keyward is set up", "", done)
}

func (d *dashboard) resetPage(w http.ResponseWriter, r *http.Request) error {
	return d.render(w, r, http.StatusOK, "reset", nil, "Set your password", "", authForm{Token: r.URL.Query().Get("token")})
}

func (d *dashboard) reset(w http.ResponseWriter, r *http.Request) error {
	f := authForm{Token: r.PostFormValue("token")}
	if err := d.svc.ResetPassword(r.Context(), f.Token, r.PostFormValue("password")); err != nil {
		if keyward.ErrorCode(err) == keyward.CodeInvalidRequest {
			f.Error, f.Problems = keyward.AsError(err).Message, problems(err)
			return d.render(w, r, http.StatusBadRequest, "reset", nil, "Set your password", "", f)
		}
		return err
	}
	return d.redirect(w, r, "/login", "Your password is set. Sign in with it.")
}

func (d *dashboard) accountPage(w http.ResponseWriter, r *http.Request, p *page) error {
	return d.render(w, r, http.StatusOK, "account", p, "Your account", "account", authForm{})
}

func (d *dashboard) changePassword(w http.ResponseWriter, r *http.Request, p *page) error {
	token, _, err := d.svc.ChangePassword(r.Context(), p.Session, r.PostFormValue("current_password"), r.PostFormValue("new_password"), origin(w, r))
	if err != nil {
		if keyward.ErrorCode(err) == keyward.CodeInvalidRequest {
			f := authForm{Error: keyward.AsError(err).Message, Problems: problems(err)}
			if msg, ok := f.Problems["password"]; ok {
				f.Problems["new_password"] = msg // the service names it "password"
			}
			return d.render(w, r, http.StatusBadRequest, "account", p, "Your account", "account", f)
		}
		return err
	}
	// Changing the password ended every session, this one included: the
	// new token keeps this browser signed in.
	d.setSession(w, token)
	return d.redirect(w, r, "/account", "Your password is changed. Other sessions were signed out.")
}

func retryAfter(e *keyward.Error) string {
	s := int(e.RetryAfter.Seconds())
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s)
}
