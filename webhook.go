package keyward

import (
	"context"
	"time"
)

// Id prefixes of webhook endpoints, messages (events) and deliveries.
const (
	PrefixWebhook  = "whk"
	PrefixMessage  = "msg"
	PrefixDelivery = "dlv"
)

// Webhook event types (docs/webhooks.md).
const (
	EventKeyCreated    = "key.created"
	EventKeyRotated    = "key.rotated"
	EventKeyRevoked    = "key.revoked"
	EventKeyExpiring   = "key.expiring"
	EventKeyExpired    = "key.expired"
	EventKeyLeaked     = "key.leaked"
	EventMemberRemoved = "member.removed"
	EventWebhookTest   = "webhook.test"
)

// EventTypes are the event types an endpoint may subscribe to, in the
// order documentation lists them. webhook.test is sent on request to one
// endpoint, whatever it subscribes to.
var EventTypes = []string{
	EventKeyCreated, EventKeyRotated, EventKeyRevoked, EventKeyExpiring,
	EventKeyExpired, EventKeyLeaked, EventMemberRemoved,
}

// WebhookEndpoint is a URL of an org's that keyward sends signed events to.
type WebhookEndpoint struct {
	ID          string    `json:"id"`
	OrgID       string    `json:"org_id"`
	URL         string    `json:"url"`
	Description string    `json:"description"`
	Events      []string  `json:"events"`
	Enabled     bool      `json:"enabled"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// Secret is the signing secret as the store keeps it (sealed by the
	// service); it never leaves the server after creation.
	Secret []byte `json:"-"`
}

// Subscribes reports whether e is enabled and wants events of this type.
func (e *WebhookEndpoint) Subscribes(eventType string) bool {
	if !e.Enabled {
		return false
	}
	for _, t := range e.Events {
		if t == eventType {
			return true
		}
	}
	return false
}

// WebhookMessage is one event to send: its body is fixed when the change it
// reports commits, so every attempt and every endpoint gets the same bytes.
type WebhookMessage struct {
	ID        string
	OrgID     string
	Type      string
	CreatedAt time.Time
	Payload   []byte // the JSON body: {"type", "timestamp", "data"}
}

// Delivery states.
const (
	DeliveryPending   = "pending"   // waiting for its next attempt
	DeliverySucceeded = "succeeded" // an attempt got a 2xx answer
	DeliveryFailed    = "failed"    // retried for the whole retry window in vain
)

// WebhookDelivery is one message on its way to one endpoint, with what its
// latest attempt got.
type WebhookDelivery struct {
	ID            string     `json:"id"`
	MessageID     string     `json:"message_id"`
	EndpointID    string     `json:"endpoint_id"`
	OrgID         string     `json:"-"`
	EventType     string     `json:"event_type"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	CreatedAt     time.Time  `json:"created_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at"` // nil once it succeeded or failed
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	// What the latest attempt got: the response's status code (0 when
	// none came), how long it took, and why it failed, when it did.
	LastStatusCode int        `json:"last_status_code"`
	LastLatencyMS  int        `json:"last_latency_ms"`
	LastError      string     `json:"last_error"`
	DeliveredAt    *time.Time `json:"delivered_at"`
	// Claim is the token of the node that holds the delivery until
	// LeaseUntil; only that node may record the attempt's result.
	Claim      string    `json:"-"`
	LeaseUntil time.Time `json:"-"`
}

// Key notices: the expiry events a key gets, each once.
const (
	NoticeExpiring7d = "expiring_7d"
	NoticeExpiring1d = "expiring_1d"
	NoticeExpired    = "expired"
)

// WebhookQueries are the store's webhook reads and writes. Messages and
// deliveries are written in the transaction of the change they report
// (the outbox); a worker on each node claims due deliveries, sends them and
// records the result.
type WebhookQueries interface {
	CreateWebhookEndpoint(ctx context.Context, e *WebhookEndpoint) error
	GetWebhookEndpoint(ctx context.Context, id string) (*WebhookEndpoint, error)
	// ListWebhookEndpoints returns the org's endpoints, oldest first.
	ListWebhookEndpoints(ctx context.Context, orgID string) ([]*WebhookEndpoint, error)
	// UpdateWebhookEndpoint writes url, description, events, enabled,
	// secret and updated_at.
	UpdateWebhookEndpoint(ctx context.Context, e *WebhookEndpoint) error
	// DeleteWebhookEndpoint deletes the endpoint and its deliveries.
	DeleteWebhookEndpoint(ctx context.Context, id string) error

	CreateWebhookMessage(ctx context.Context, m *WebhookMessage) error
	GetWebhookMessage(ctx context.Context, id string) (*WebhookMessage, error)
	CreateWebhookDelivery(ctx context.Context, d *WebhookDelivery) error
	GetWebhookDelivery(ctx context.Context, id string) (*WebhookDelivery, error)
	// ListWebhookDeliveries returns an endpoint's deliveries, newest first,
	// with ids below before ("" = from the newest).
	ListWebhookDeliveries(ctx context.Context, endpointID, before string, limit int) ([]*WebhookDelivery, error)
	// ClaimWebhookDeliveries takes up to limit pending deliveries of
	// enabled endpoints that are due at now and not held by another claim
	// (or whose claim ran out), oldest due first, and holds them for this
	// claim until leaseUntil. With perEndpoint > 0, an endpoint never has
	// more than that many deliveries held at once (counting those other
	// claims hold), so one slow endpoint cannot take every attempt of a
	// node. Two nodes claiming at once never get the same delivery (FOR
	// UPDATE SKIP LOCKED on PostgreSQL).
	ClaimWebhookDeliveries(ctx context.Context, now, leaseUntil time.Time, claim string, limit, perEndpoint int) ([]*WebhookDelivery, error)
	// DeferWebhookDeliveries moves the endpoint's pending deliveries that
	// are due before until, and not held by a claim at now, to until: the
	// endpoint did not answer, so the rest of its queue waits instead of
	// taking attempts from other endpoints.
	DeferWebhookDeliveries(ctx context.Context, endpointID string, now, until time.Time) error
	// FinishWebhookAttempt records an attempt's result (status, attempts,
	// next attempt, last_*, delivered_at) and releases the claim, if d's
	// claim still holds it; NOT_FOUND when it does not (the lease ran out
	// and another node took the delivery over).
	FinishWebhookAttempt(ctx context.Context, d *WebhookDelivery) error
	// PruneWebhooks deletes deliveries that ended before t, and the
	// messages left without deliveries created before t.
	PruneWebhooks(ctx context.Context, before time.Time) error

	// KeysDueNotice returns up to limit keys that are neither revoked nor
	// replaced by rotation, expire in (from, to], and have no notice of
	// this kind yet.
	KeysDueNotice(ctx context.Context, kind string, from, to time.Time, limit int) ([]*Key, error)
	// AddKeyNotice records that the key got the notice; false when it had
	// it already (another node sent it).
	AddKeyNotice(ctx context.Context, keyID, kind string, at time.Time) (bool, error)
}
