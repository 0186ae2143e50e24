package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/keyward/keyward"
)

// The add and settings forms of webhook endpoints share their fields; the
// ids of the add form start with "webhook-", the settings form's with
// "edit-": url, description and events (a fieldset of checkboxes).

// webhookFormFailed sends a fixable error of an endpoint form back to the
// page at to, each problem next to its field, like formFailed, but keeps
// everything that was typed, not only the fields at fault: a URL refused
// does not cost the description and the events chosen.
func (d *dashboard) webhookFormFailed(w http.ResponseWriter, r *http.Request, to, prefix string, err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || !fixable(err) {
		return d.formFailed(w, r, to, at(prefix+"-url"), err)
	}
	e := keyward.AsError(err)
	f := &flash{Error: true, Problems: map[string]string{}, Typed: map[string]string{
		prefix + "-url":         truncate(r.PostFormValue("url"), maxTyped),
		prefix + "-description": truncate(r.PostFormValue("description"), maxTyped),
		prefix + "-events":      strings.Join(r.PostForm["events"], ","),
	}}
	add := func(id, problem string) {
		if prev, ok := f.Problems[id]; ok {
			problem = prev + "; " + problem
		}
		f.Problems[id] = problem
	}
	if len(e.Details) == 0 {
		add(prefix+"-url", e.Message) // the whole form's problem: under its first input
	}
	for _, fe := range e.Details {
		switch fe.Field {
		case "url", "description", "events":
			add(prefix+"-"+fe.Field, fe.Problem)
		default:
			add(prefix+"-url", fe.Field+" "+fe.Problem)
		}
	}
	d.leaveFlash(w, f)
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// typedWebhookForm is def, or what was typed in the form prefix when it
// just failed.
func typedWebhookForm(p *page, prefix string, def webhookForm) webhookForm {
	if p.Flash == nil || p.Flash.Typed == nil {
		return def
	}
	t := p.Flash.Typed
	ev, ok := t[prefix+"-events"]
	if !ok {
		return def
	}
	f := webhookForm{URL: t[prefix+"-url"], Description: t[prefix+"-description"], Events: []string{}}
	if ev != "" {
		f.Events = strings.Split(ev, ",")
	}
	return f
}

// until says when a moment d from now is, as people say it: "now",
// "in 40 s", "in 5 min", "in 3 h", "in 2 days".
func until(d time.Duration) string {
	switch {
	case d < time.Second:
		return "now"
	case d < time.Minute:
		return fmt.Sprintf("in %d s", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("in %d min", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("in %d h", int(d/time.Hour))
	}
	return fmt.Sprintf("in %d days", int(d/(24*time.Hour)))
}

// latency is how long an attempt took: "85 ms", "1.2 s".
func latency(ms int) string {
	if ms < 1000 {
		return fmt.Sprintf("%d ms", ms)
	}
	return fmt.Sprintf("%.1f s", float64(ms)/1000)
}
