package dashboard

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The add and settings forms of webhook endpoints share their fields; the
// ids of the add form start with "webhook-", the settings form's with
// "edit-": url, description and events (a fieldset of checkboxes).

// webhookFormFailed sends a fixable error of an endpoint form back to the
// page at to, each problem next to its field, like formFailed, but keeps
// everything that was typed, not only the fields at fault: a URL refused
// does not cost the description and the events chosen.
func (d *dashboard) webhookFormFailed(w http.ResponseWriter, r *http.Request, to, prefix string, err error) error {
	place := formAt{Default: prefix + "-url", Fields: map[string]string{
		"url": prefix + "-url", "description": prefix + "-description", "events": prefix + "-events",
	}}
	f, err := failedForm(r, place, err)
	if f == nil {
		return err
	}
	f.Typed[prefix+"-url"] = truncate(r.PostFormValue("url"), maxTyped)
	f.Typed[prefix+"-description"] = truncate(r.PostFormValue("description"), maxTyped)
	f.Typed[prefix+"-events"] = strings.Join(r.PostForm["events"], ",")
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
