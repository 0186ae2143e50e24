package dashboard

import (
	"bytes"
	"errors"
	"github.com/keyward/keyward/internal/httpapi"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyward/keyward"
)

// pageTemplate is one page: the layout, the shared partials and the page's
// own "content" block, parsed together so that every page can define
// "content" without clashing.
type pageTemplate = template.Template

var funcs = template.FuncMap{
	"when":      fmtTime,
	"duration":  func(d keyward.Duration) string { return humanDuration(d.Std()) },
	"iso":       func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"join":      strings.Join,
	"hasSuffix": strings.HasSuffix,
	"countdown": countdown,
	"invalid":   invalid,
	"problem":   problemText,
	"has": func(list []string, s string) bool {
		for _, v := range list {
			if v == s {
				return true
			}
		}
		return false
	},
	"deref": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
}

func mustParsePages() map[string]*pageTemplate {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/partials.html"))
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*pageTemplate{}
	for _, n := range names {
		name := path.Base(n)
		if name == "layout.html" || name == "partials.html" {
			continue
		}
		t := template.Must(base.Clone())
		pages[strings.TrimSuffix(name, ".html")] = template.Must(t.ParseFS(assets, n))
	}
	return pages
}

// Problem is the problem a failed form left for the input id (see
// formFailed), or "".
func (v view) Problem(id string) string {
	if v.page == nil || v.Flash == nil {
		return ""
	}
	if m, ok := v.Flash.Problems[id]; ok {
		v.shown[id] = true
		return m
	}
	return ""
}

// Typed is what was typed in the input id of a failed form, or def.
func (v view) Typed(id, def string) string {
	if v.page != nil && v.Flash != nil {
		if t, ok := v.Flash.Typed[id]; ok {
			return t
		}
	}
	return def
}

// invalid marks the input id when problem is set: aria-invalid, described
// by its problem (see problemText), and focused on load.
func invalid(id, problem string) template.HTMLAttr {
	if problem == "" {
		return ""
	}
	return template.HTMLAttr(` aria-invalid="true" aria-describedby="` + template.HTMLEscapeString(id) + `-problem" autofocus`) //nolint:gosec // G203: id is escaped
}

// problemText is an input's problem, right under it and announced.
func problemText(id, problem string) template.HTML {
	if problem == "" {
		return ""
	}
	return template.HTML(`<p id="` + template.HTMLEscapeString(id) + `-problem" class="problem" role="alert">` + template.HTMLEscapeString(problem) + `</p>`) //nolint:gosec // G203: id and problem are escaped
}

// view is what every template gets: the request's page (user, org,
// project, abilities, flash), the title, the active tab and the page's own
// data.
type view struct {
	*page
	Title     string
	Tab       string
	ServerNow string
	Data      any
	shown     map[string]bool // the ids whose problems Problem has placed
}

// unshown is the problems of a failed form that the page did not place
// next to an input, as one message ("" when there are none).
func (p *page) unshown(shown map[string]bool) string {
	if p.Flash == nil || p.Flash.Message != "" {
		return ""
	}
	var out []string
	for id, m := range p.Flash.Problems {
		if !shown[id] {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return strings.Join(out, "; ")
}

// render writes a whole page. It renders into a buffer first so that a
// template error never leaves half a page behind.
func (d *dashboard) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page, title, tab string, data any) error {
	t, ok := d.pages[name]
	if !ok {
		return keyward.Errorf(keyward.CodeInternal, "An internal error occurred")
	}
	if p == nil {
		p = &page{}
	}
	var buf bytes.Buffer
	v := view{page: p, Title: title, Tab: tab, ServerNow: d.clock.Now().UTC().Format(time.RFC3339), Data: data, shown: map[string]bool{}}
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		d.log.ErrorContext(r.Context(), "dashboard: template", "page", name, "err", err)
		return &keyward.Error{Code: keyward.CodeInternal, Message: "An internal error occurred", Err: err}
	}
	// A problem whose input is not on this page (the member it concerned
	// was removed meanwhile, say) is never dropped: the page is rendered
	// again with it in the banner.
	if orphans := p.unshown(v.shown); orphans != "" {
		f := *p.Flash
		f.Message = orphans
		p.Flash = &f
		buf.Reset()
		if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
			d.log.ErrorContext(r.Context(), "dashboard: template", "page", name, "err", err)
			return &keyward.Error{Code: keyward.CodeInternal, Message: "An internal error occurred", Err: err}
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// errorData is what the error page shows: only the public message.
type errorData struct {
	Status  int
	Message string
	Details []keyward.FieldError
}

// renderError is the one place that turns an error into a response.
// Signed-out users go to the sign-in page; the rest get a page with the
// error's public message, never its cause.
func (d *dashboard) renderError(w http.ResponseWriter, r *http.Request, p *page, err error) {
	e := keyward.AsError(err)
	if e.Code == keyward.CodeUnauthenticated {
		d.clearSession(w)
		to := "/login"
		if r.Method == http.MethodGet && r.URL.Path != "/" {
			to += "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	status := httpStatus(e.Code)
	if status >= 500 {
		d.log.ErrorContext(r.Context(), "dashboard", "code", e.Code, "err", err)
	}
	if e.Code == keyward.CodeRateLimited && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", retryAfter(e))
	}
	if p != nil && p.Org == nil {
		p.Ab, p.Project = nil, nil // the nav shows only what was found
	}
	if rerr := d.render(w, r, status, "error", p, http.StatusText(status), "", errorData{Status: status, Message: e.Message, Details: e.Details}); rerr != nil {
		http.Error(w, "An internal error occurred", http.StatusInternalServerError)
	}
}

// httpStatus is the status of an error code: the one mapping, httpapi's.
func httpStatus(code string) int { return httpapi.StatusOf(code) }

// fixable reports whether err is the user's to fix by changing the form:
// such errors go back to the form's page as a message, others are shown on
// an error page.
func fixable(err error) bool {
	switch keyward.ErrorCode(err) {
	case keyward.CodeInvalidRequest, keyward.CodeConflict, keyward.CodeKeyLimitReached:
		return true
	}
	return false
}

// formAt says where a form's problems go on the page it redirects to:
// Fields maps the service's field names to the ids of the form's inputs,
// and a problem of any other field, or of the whole form, goes next to
// Default.
type formAt struct {
	Default string
	Fields  map[string]string
}

// at is a formAt for a form with one input.
func at(id string) formAt { return formAt{Default: id} }

// maxTyped bounds what a failed form keeps of what was typed in a field.
const maxTyped = 200

// formFailed sends a fixable error back to the page at to, each problem
// next to the input it concerns (see formAt), with what was typed there;
// any other error is returned for the error page.
func (d *dashboard) formFailed(w http.ResponseWriter, r *http.Request, to string, place formAt, err error) error {
	f, err := failedForm(r, place, err)
	if f == nil {
		return err
	}
	d.leaveFlash(w, f)
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// failedForm is the flash that brings a fixable error back to its form
// (see formFailed); for any other error it is nil, with the error the
// error page shows.
func failedForm(r *http.Request, place formAt, err error) (*flash, error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, keyward.Errorf(keyward.CodePayloadTooLarge, "The form is too large")
	}
	if !fixable(err) {
		return nil, err
	}
	e := keyward.AsError(err)
	f := &flash{Error: true, Problems: map[string]string{}, Typed: map[string]string{}}
	add := func(id, problem string) {
		if prev, ok := f.Problems[id]; ok {
			problem = prev + "; " + problem
		}
		f.Problems[id] = problem
	}
	if len(e.Details) == 0 {
		add(place.Default, e.Message)
	}
	for _, fe := range e.Details {
		id, ok := place.Fields[fe.Field]
		problem := fe.Problem
		if !ok {
			id, problem = place.Default, fe.Field+" "+fe.Problem
		}
		add(id, problem)
		// Passwords are never kept, not even for a minute in a cookie.
		if v, ok := r.PostForm[fe.Field]; ok && len(v) == 1 && !strings.Contains(fe.Field, "password") {
			f.Typed[id] = truncate(v[0], maxTyped)
		}
	}
	return f, nil
}

// describe is an error's public message with the fields at fault.
func describe(e *keyward.Error) string {
	msg := e.Message
	if len(e.Details) > 1 {
		var parts []string
		for _, fe := range e.Details {
			parts = append(parts, fe.Field+" "+fe.Problem)
		}
		msg += ": " + strings.Join(parts, "; ")
	}
	return msg
}

// problems maps each field at fault to its problem, for forms that are
// rendered again next to their inputs.
func problems(err error) map[string]string {
	out := map[string]string{}
	for _, fe := range keyward.AsError(err).Details {
		out[fe.Field] = fe.Problem
	}
	return out
}

func fmtTime(t any) string {
	switch v := t.(type) {
	case time.Time:
		return v.UTC().Format("2006-01-02 15:04 UTC")
	case *time.Time:
		if v == nil {
			return ""
		}
		return v.UTC().Format("2006-01-02 15:04 UTC")
	}
	return ""
}

// countdown is the text a grace-period countdown starts with; app.js
// keeps it going.
func countdown(end, now time.Time) string {
	d := end.Sub(now).Round(time.Second)
	if d <= 0 {
		return "0s"
	}
	days := int(d / (24 * time.Hour))
	d -= time.Duration(days) * 24 * time.Hour
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	if days > 0 {
		return strconv.Itoa(days) + "d " + strconv.Itoa(h) + "h " + strconv.Itoa(m) + "m " + strconv.Itoa(s) + "s"
	}
	return strconv.Itoa(h) + "h " + strconv.Itoa(m) + "m " + strconv.Itoa(s) + "s"
}
