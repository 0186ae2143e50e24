package dashboard

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

// The org's webhook endpoints (docs/webhooks.md): a list with a form that
// adds one, and a page per endpoint with its settings, its actions (test,
// rotate the signing secret, disable, delete) and its delivery log. Only
// org admins and owners may use them; the service decides.

// webhooksData is the org's webhooks page.
type webhooksData struct {
	Base   string // the webhooks page
	Rows   []webhookRow
	Events []string // the event types an endpoint may subscribe to
	Form   webhookForm
	Max    int
}

// webhookRow is an endpoint as the list shows it, with its latest
// delivery (nil when it has none).
type webhookRow struct {
	*keyward.WebhookEndpoint
	Name      string
	AllEvents bool
	Last      *deliveryRow
}

// webhookForm is what the add and settings forms show: the endpoint's
// values, or what was typed when the form failed.
type webhookForm struct {
	URL, Description string
	Events           []string
}

// webhookData is one endpoint's page.
type webhookData struct {
	Base      string // the endpoint's page
	List      string // the webhooks page
	Endpoint  *keyward.WebhookEndpoint
	Name      string
	AllEvents bool
	Events    []string
	Form      webhookForm
	// Secret is the signing secret, set only on the page a create or a
	// rotation redirected to: the one time it is shown.
	Secret  string
	Rotated bool

	Deliveries []deliveryRow
	Cursor     string // the page of the log shown ("" = the newest)
	Here       string // this page, its cursor included
	First      string // the newest deliveries, when this page is not them
	Next       string // older deliveries, when there are
	QueryNote  string
}

// deliveryRow is a delivery as the log shows it: its times as people say
// them ("3 min ago", "in 5 min") with the exact time on hover.
type deliveryRow struct {
	*keyward.WebhookDelivery
	Ago     string
	NextIn  string
	Latency string
}

// deliveriesPerPage is how many deliveries a page of the log shows.
const deliveriesPerPage = 25

func webhooksURL(p *page) string { return orgURL(p) + "/webhooks" }

// webhookName is how an endpoint is named to people: its description, or
// its URL when it has none.
func webhookName(e *keyward.WebhookEndpoint) string {
	if e.Description != "" {
		return e.Description
	}
	return e.URL
}

// allEvents reports whether events is every event type there is.
func allEvents(events []string) bool { return sameScopes(events, keyward.EventTypes) }

func (d *dashboard) webhooksPage(w http.ResponseWriter, r *http.Request, p *page) error {
	ctx := r.Context()
	es, err := d.svc.ListWebhooks(ctx, p.Actor)
	if err != nil {
		return err
	}
	now := d.clock.Now()
	data := webhooksData{Base: webhooksURL(p), Events: keyward.EventTypes, Max: service.MaxWebhooksPerOrg,
		Form: typedWebhookForm(p, "webhook", webhookForm{Events: keyward.EventTypes})}
	for _, e := range es {
		row := webhookRow{WebhookEndpoint: e, Name: webhookName(e), AllEvents: allEvents(e.Events)}
		// One row each: an org has at most MaxWebhooksPerOrg endpoints.
		last, err := d.svc.ListWebhookDeliveries(ctx, p.Actor, e.ID, 1, "")
		if err != nil {
			return err
		}
		if len(last.Data) > 0 {
			dr := newDeliveryRow(last.Data[0], now)
			row.Last = &dr
		}
		data.Rows = append(data.Rows, row)
	}
	return d.render(w, r, http.StatusOK, "webhooks", p, "Webhooks", "webhooks", data)
}

// createWebhook adds an endpoint and shows its signing secret, once, on
// the endpoint's page.
func (d *dashboard) createWebhook(w http.ResponseWriter, r *http.Request, p *page) error {
	back := webhooksURL(p)
	in := service.WebhookInput{URL: strings.TrimSpace(r.PostFormValue("url")), Description: r.PostFormValue("description"), Events: r.PostForm["events"]}
	if len(in.Events) == 0 {
		// The API reads no events as all of them; a form with every box
		// cleared means something else, so it is asked again.
		return d.webhookFormFailed(w, r, back, "webhook", noEvents)
	}
	e, err := d.svc.CreateWebhook(r.Context(), p.Actor, in)
	if err != nil {
		return d.webhookFormFailed(w, r, back, "webhook", err)
	}
	once := &webhookSecret{EndpointID: e.ID, Secret: e.Secret}
	return d.redirectOnce(w, r, p, back+"/"+e.ID, once, "Endpoint added. Copy its signing secret now; then send it a test event.")
}

// webhookSecret is the one-time value an endpoint's creation or secret
// rotation leaves for the endpoint's page, and only for it.
type webhookSecret struct {
	EndpointID string `json:"endpoint_id"`
	Secret     string `json:"secret"`
	Rotated    bool   `json:"rotated,omitempty"`
}

var noEvents = keyward.Invalid(keyward.FieldError{Field: "events", Problem: "choose at least one event"})

func (d *dashboard) webhookPage(w http.ResponseWriter, r *http.Request, p *page) error {
	ctx := r.Context()
	e, err := d.svc.GetWebhook(ctx, p.Actor, r.PathValue("wh"))
	if err != nil {
		return err
	}
	base := webhooksURL(p) + "/" + e.ID
	data := webhookData{
		Base: base, List: webhooksURL(p), Endpoint: e, Name: webhookName(e), AllEvents: allEvents(e.Events),
		Events: keyward.EventTypes, Cursor: r.URL.Query().Get("cursor"),
		Form: typedWebhookForm(p, "edit", webhookForm{URL: e.URL, Description: e.Description, Events: e.Events}),
	}
	v, gone := d.takeOnce(r, p)
	if s, ok := v.(*webhookSecret); ok && s.EndpointID == e.ID {
		data.Secret, data.Rotated = s.Secret, s.Rotated
	} else if gone || ok {
		p.Flash = &flash{Message: "An endpoint's signing secret is shown only once, and it was shown already. If it was not copied, rotate the secret to get a new one."}
	}
	res, err := d.svc.ListWebhookDeliveries(ctx, p.Actor, e.ID, deliveriesPerPage, data.Cursor)
	if keyward.ErrorCode(err) == keyward.CodeInvalidRequest && data.Cursor != "" {
		// An old or mangled link: the newest deliveries instead.
		data.QueryNote = "The page of the delivery log in the address was left out: it is not one this page made."
		data.Cursor = ""
		res, err = d.svc.ListWebhookDeliveries(ctx, p.Actor, e.ID, deliveriesPerPage, "")
	}
	if err != nil {
		return err
	}
	now := d.clock.Now()
	for _, dl := range res.Data {
		data.Deliveries = append(data.Deliveries, newDeliveryRow(dl, now))
	}
	data.Here = pageAt(base, data.Cursor)
	if data.Cursor != "" {
		data.First = base
	}
	if res.NextCursor != nil {
		data.Next = pageAt(base, *res.NextCursor)
	}
	return d.render(w, r, http.StatusOK, "webhook", p, "Webhook: "+data.Name, "webhooks", data)
}

// pageAt is the endpoint's page at a page of its delivery log.
func pageAt(base, cursor string) string {
	if cursor == "" {
		return base
	}
	return base + "?cursor=" + url.QueryEscape(cursor)
}

// updateWebhook saves the settings form: URL, description and events.
func (d *dashboard) updateWebhook(w http.ResponseWriter, r *http.Request, p *page) error {
	back := webhooksURL(p) + "/" + r.PathValue("wh")
	u, desc, events := strings.TrimSpace(r.PostFormValue("url")), r.PostFormValue("description"), r.PostForm["events"]
	if len(events) == 0 {
		return d.webhookFormFailed(w, r, back, "edit", noEvents)
	}
	if _, err := d.svc.UpdateWebhook(r.Context(), p.Actor, r.PathValue("wh"), service.WebhookPatch{URL: &u, Description: &desc, Events: &events}); err != nil {
		return d.webhookFormFailed(w, r, back, "edit", err)
	}
	return d.redirect(w, r, back, "Endpoint settings saved.")
}

// setWebhookEnabled enables or disables an endpoint. A disabled endpoint
// gets no events; deliveries waiting for it wait until it is enabled.
func (d *dashboard) setWebhookEnabled(w http.ResponseWriter, r *http.Request, p *page) error {
	back := webhooksURL(p) + "/" + r.PathValue("wh")
	on := r.PostFormValue("enabled") == "true"
	if _, err := d.svc.UpdateWebhook(r.Context(), p.Actor, r.PathValue("wh"), service.WebhookPatch{Enabled: &on}); err != nil {
		return d.formFailed(w, r, back, at("toggle-webhook"), err)
	}
	if on {
		return d.redirect(w, r, back, "Endpoint enabled: it gets events again.")
	}
	return d.redirect(w, r, back, "Endpoint disabled: it gets no events until it is enabled again.")
}

// testWebhook sends the endpoint a webhook.test event.
func (d *dashboard) testWebhook(w http.ResponseWriter, r *http.Request, p *page) error {
	back := webhooksURL(p) + "/" + r.PathValue("wh")
	if _, err := d.svc.TestWebhook(r.Context(), p.Actor, r.PathValue("wh")); err != nil {
		return d.formFailed(w, r, back, at("send-test"), err)
	}
	return d.redirect(w, r, back, "Test event sent: its delivery is at the top of the log. Reload to see how it went.")
}

// rotateWebhook gives the endpoint a new signing secret, shown once.
func (d *dashboard) rotateWebhook(w http.ResponseWriter, r *http.Request, p *page) error {
	e, err := d.svc.RotateWebhookSecret(r.Context(), p.Actor, r.PathValue("wh"))
	if err != nil {
		return err
	}
	once := &webhookSecret{EndpointID: e.ID, Secret: e.Secret, Rotated: true}
	return d.redirectOnce(w, r, p, webhooksURL(p)+"/"+e.ID, once, "Signing secret rotated: deliveries from now on are signed with the new secret only.")
}

// deleteWebhook deletes the endpoint and its delivery log.
func (d *dashboard) deleteWebhook(w http.ResponseWriter, r *http.Request, p *page) error {
	e, err := d.svc.GetWebhook(r.Context(), p.Actor, r.PathValue("wh"))
	if err != nil {
		return err
	}
	if err := d.svc.DeleteWebhook(r.Context(), p.Actor, e.ID); err != nil {
		return err
	}
	return d.redirect(w, r, webhooksURL(p), "Endpoint “"+webhookName(e)+"” deleted, with its delivery log.")
}

// redeliverWebhook sends a delivery's event again, as a new delivery, and
// comes back to the page of the log it was on.
func (d *dashboard) redeliverWebhook(w http.ResponseWriter, r *http.Request, p *page) error {
	back := pageAt(webhooksURL(p)+"/"+r.PathValue("wh"), r.PostFormValue("cursor"))
	dl, err := d.svc.RedeliverWebhook(r.Context(), p.Actor, r.PathValue("wh"), r.PathValue("dlv"))
	if err != nil {
		return d.formFailed(w, r, back, at("redeliver-"+r.PathValue("dlv")), err)
	}
	return d.redirect(w, r, back, "The "+dl.EventType+" event is sent again: it is at the top of the log.")
}

func newDeliveryRow(dl *keyward.WebhookDelivery, now time.Time) deliveryRow {
	row := deliveryRow{WebhookDelivery: dl, Ago: ago(now.Sub(dl.CreatedAt))}
	if dl.NextAttemptAt != nil {
		row.NextIn = until(dl.NextAttemptAt.Sub(now))
	}
	if dl.Attempts > 0 {
		row.Latency = latency(dl.LastLatencyMS)
	}
	return row
}
