package postgres

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/keyward/keyward"
)

const endpointColumns = `id, org_id, url, description, events, enabled, secret, created_at, updated_at`

// CreateWebhookEndpoint inserts an endpoint.
func (q queries) CreateWebhookEndpoint(ctx context.Context, e *keyward.WebhookEndpoint) error {
	events, err := json.Marshal(e.Events)
	if err != nil {
		return err
	}
	_, err = q.db.Exec(ctx, `INSERT INTO webhook_endpoints (`+endpointColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		e.ID, e.OrgID, e.URL, e.Description, events, e.Enabled, e.Secret, e.CreatedAt, e.UpdatedAt)
	return conflict(err, "A webhook endpoint with this id already exists", "postgres: createWebhookEndpoint(%q)", e.ID)
}

// GetWebhookEndpoint returns an endpoint by id.
func (q queries) GetWebhookEndpoint(ctx context.Context, id string) (*keyward.WebhookEndpoint, error) {
	e, err := scanEndpoint(q.db.QueryRow(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "webhook endpoint", "postgres: getWebhookEndpoint(%q)", id)
	}
	return e, nil
}

// ListWebhookEndpoints returns the org's endpoints, oldest first.
func (q queries) ListWebhookEndpoints(ctx context.Context, orgID string) ([]*keyward.WebhookEndpoint, error) {
	rows, err := q.db.Query(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE org_id = $1 ORDER BY id`, orgID)
	return collect(rows, err, scanEndpoint, "postgres: listWebhookEndpoints(%q)", orgID)
}

// UpdateWebhookEndpoint writes an endpoint's mutable fields.
func (q queries) UpdateWebhookEndpoint(ctx context.Context, e *keyward.WebhookEndpoint) error {
	events, err := json.Marshal(e.Events)
	if err != nil {
		return err
	}
	tag, err := q.db.Exec(ctx, `UPDATE webhook_endpoints SET url = $1, description = $2, events = $3,
		enabled = $4, secret = $5, updated_at = $6 WHERE id = $7`,
		e.URL, e.Description, events, e.Enabled, e.Secret, e.UpdatedAt, e.ID)
	if err != nil {
		return dbError(err, "postgres: updateWebhookEndpoint(%q)", e.ID)
	}
	if tag.RowsAffected() == 0 {
		return keyward.NotFound("webhook endpoint")
	}
	return nil
}

// DeleteWebhookEndpoint deletes an endpoint and (by cascade) its deliveries.
func (q queries) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	tag, err := q.db.Exec(ctx, `DELETE FROM webhook_endpoints WHERE id = $1`, id)
	if err != nil {
		return dbError(err, "postgres: deleteWebhookEndpoint(%q)", id)
	}
	if tag.RowsAffected() == 0 {
		return keyward.NotFound("webhook endpoint")
	}
	return nil
}

func scanEndpoint(s scanner) (*keyward.WebhookEndpoint, error) {
	var e keyward.WebhookEndpoint
	var events []byte
	if err := s.Scan(&e.ID, &e.OrgID, &e.URL, &e.Description, &events, &e.Enabled, &e.Secret, &e.CreatedAt, &e.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(events, &e.Events); err != nil {
		return nil, err
	}
	e.CreatedAt, e.UpdatedAt = utc(e.CreatedAt), utc(e.UpdatedAt)
	return &e, nil
}

// CreateWebhookMessage inserts a message.
func (q queries) CreateWebhookMessage(ctx context.Context, m *keyward.WebhookMessage) error {
	_, err := q.db.Exec(ctx, `INSERT INTO webhook_messages (id, org_id, type, created_at, payload)
		VALUES ($1, $2, $3, $4, $5)`, m.ID, m.OrgID, m.Type, m.CreatedAt, m.Payload)
	return dbError(err, "postgres: createWebhookMessage(%q)", m.ID)
}

// GetWebhookMessage returns a message by id.
func (q queries) GetWebhookMessage(ctx context.Context, id string) (*keyward.WebhookMessage, error) {
	var m keyward.WebhookMessage
	err := q.db.QueryRow(ctx, `SELECT id, org_id, type, created_at, payload FROM webhook_messages WHERE id = $1`, id).
		Scan(&m.ID, &m.OrgID, &m.Type, &m.CreatedAt, &m.Payload)
	if err != nil {
		return nil, notFound(err, "webhook message", "postgres: getWebhookMessage(%q)", id)
	}
	m.CreatedAt = utc(m.CreatedAt)
	return &m, nil
}

const deliveryColumns = `id, message_id, endpoint_id, org_id, event_type, status, attempts, created_at,
	next_attempt_at, last_attempt_at, last_status_code, last_latency_ms, last_error, delivered_at,
	claim, lease_until`

// CreateWebhookDelivery inserts a delivery.
func (q queries) CreateWebhookDelivery(ctx context.Context, d *keyward.WebhookDelivery) error {
	var lease *time.Time
	if !d.LeaseUntil.IsZero() {
		lease = &d.LeaseUntil
	}
	_, err := q.db.Exec(ctx, `INSERT INTO webhook_deliveries (`+deliveryColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		d.ID, d.MessageID, d.EndpointID, d.OrgID, d.EventType, d.Status, d.Attempts, d.CreatedAt,
		d.NextAttemptAt, d.LastAttemptAt, d.LastStatusCode, d.LastLatencyMS, d.LastError, d.DeliveredAt,
		d.Claim, lease)
	return dbError(err, "postgres: createWebhookDelivery(%q)", d.ID)
}

// GetWebhookDelivery returns a delivery by id.
func (q queries) GetWebhookDelivery(ctx context.Context, id string) (*keyward.WebhookDelivery, error) {
	d, err := scanDelivery(q.db.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "webhook delivery", "postgres: getWebhookDelivery(%q)", id)
	}
	return d, nil
}

// ListWebhookDeliveries returns an endpoint's deliveries, newest first.
func (q queries) ListWebhookDeliveries(ctx context.Context, endpointID, before string, limit int) ([]*keyward.WebhookDelivery, error) {
	rows, err := q.db.Query(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries
		WHERE endpoint_id = $1 AND ($2 = '' OR id < $2) ORDER BY id DESC LIMIT $3`, endpointID, before, sqlLimit(limit))
	return collect(rows, err, scanDelivery, "postgres: listWebhookDeliveries(%q)", endpointID)
}

// claimWindow bounds how many of the oldest due deliveries a claim looks
// at to pick from.
const claimWindow = 1000

// ClaimWebhookDeliveries holds up to limit due deliveries for claim. The
// locking SELECT skips rows another node is claiming at this moment, so
// concurrent claims never wait for each other nor take the same row; it
// repeats the conditions that make a row claimable, so that PostgreSQL
// checks them again on a row another claim has just committed (and drops
// it). Inside, each endpoint's due deliveries are numbered and counted
// with those already held, for the per-endpoint cap.
func (q queries) ClaimWebhookDeliveries(ctx context.Context, now, leaseUntil time.Time, claim string, limit, perEndpoint int) ([]*keyward.WebhookDelivery, error) {
	rows, err := q.db.Query(ctx, `WITH claimed AS (
		UPDATE webhook_deliveries SET claim = $1, lease_until = $2
		WHERE id IN (
			SELECT id FROM webhook_deliveries
			WHERE id IN (
				SELECT c.id FROM (
					SELECT d.id,
						ROW_NUMBER() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at, d.id) AS n,
						(SELECT count(*) FROM webhook_deliveries h WHERE h.endpoint_id = d.endpoint_id
							AND h.status = 'pending' AND h.lease_until > $3) AS busy
					FROM (SELECT id, endpoint_id, next_attempt_at FROM webhook_deliveries
						WHERE status = 'pending' AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until <= $3)
						ORDER BY next_attempt_at LIMIT `+strconv.Itoa(claimWindow)+`) d
					JOIN webhook_endpoints e ON e.id = d.endpoint_id
					WHERE e.enabled) c
				WHERE $5 = 0 OR c.n + c.busy <= $5)
			AND status = 'pending' AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until <= $3)
			ORDER BY next_attempt_at, id LIMIT $4
			FOR UPDATE SKIP LOCKED)
		RETURNING `+deliveryColumns+`)
		SELECT `+deliveryColumns+` FROM claimed ORDER BY next_attempt_at, id`, claim, leaseUntil, now, limit, perEndpoint)
	return collect(rows, err, scanDelivery, "postgres: claimWebhookDeliveries")
}

// DeferWebhookDeliveries moves an endpoint's due, unheld deliveries to
// until.
func (q queries) DeferWebhookDeliveries(ctx context.Context, endpointID string, now, until time.Time) error {
	_, err := q.db.Exec(ctx, `UPDATE webhook_deliveries SET next_attempt_at = $1
		WHERE endpoint_id = $2 AND status = 'pending' AND next_attempt_at < $1
			AND (lease_until IS NULL OR lease_until <= $3)`, until, endpointID, now)
	return dbError(err, "postgres: deferWebhookDeliveries(%q)", endpointID)
}

// FinishWebhookAttempt records an attempt's result if claim still holds
// the delivery, and releases it.
func (q queries) FinishWebhookAttempt(ctx context.Context, d *keyward.WebhookDelivery) error {
	tag, err := q.db.Exec(ctx, `UPDATE webhook_deliveries SET status = $1, attempts = $2, next_attempt_at = $3,
		last_attempt_at = $4, last_status_code = $5, last_latency_ms = $6, last_error = $7, delivered_at = $8,
		claim = '', lease_until = NULL
		WHERE id = $9 AND claim = $10`,
		d.Status, d.Attempts, d.NextAttemptAt, d.LastAttemptAt, d.LastStatusCode, d.LastLatencyMS,
		d.LastError, d.DeliveredAt, d.ID, d.Claim)
	if err != nil {
		return dbError(err, "postgres: finishWebhookAttempt(%q)", d.ID)
	}
	if tag.RowsAffected() == 0 {
		return keyward.NotFound("webhook delivery claim")
	}
	return nil
}

// PruneWebhooks deletes ended deliveries and orphaned messages from
// before t.
func (q queries) PruneWebhooks(ctx context.Context, before time.Time) error {
	return q.atomic(ctx, "pruneWebhooks", func(db dbtx) error {
		if _, err := db.Exec(ctx, `DELETE FROM webhook_deliveries WHERE status <> 'pending'
			AND COALESCE(delivered_at, last_attempt_at, created_at) < $1`, before); err != nil {
			return dbError(err, "postgres: pruneWebhooks")
		}
		_, err := db.Exec(ctx, `DELETE FROM webhook_messages m WHERE m.created_at < $1
			AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.message_id = m.id)`, before)
		return dbError(err, "postgres: pruneWebhooks")
	})
}

func scanDelivery(s scanner) (*keyward.WebhookDelivery, error) {
	var d keyward.WebhookDelivery
	var lease *time.Time
	err := s.Scan(&d.ID, &d.MessageID, &d.EndpointID, &d.OrgID, &d.EventType, &d.Status, &d.Attempts, &d.CreatedAt,
		&d.NextAttemptAt, &d.LastAttemptAt, &d.LastStatusCode, &d.LastLatencyMS, &d.LastError, &d.DeliveredAt,
		&d.Claim, &lease)
	if err != nil {
		return nil, err
	}
	d.CreatedAt = utc(d.CreatedAt)
	d.NextAttemptAt, d.LastAttemptAt, d.DeliveredAt = utcPtr(d.NextAttemptAt), utcPtr(d.LastAttemptAt), utcPtr(d.DeliveredAt)
	if lease != nil {
		d.LeaseUntil = lease.UTC()
	}
	return &d, nil
}

// KeysDueNotice returns keys expiring in (from, to] without this notice.
// The keys_expiry index (migration 0013) serves it.
func (q queries) KeysDueNotice(ctx context.Context, kind string, from, to time.Time, limit int) ([]*keyward.Key, error) {
	rows, err := q.db.Query(ctx, `SELECT `+keyReadColumns+` FROM keys k
		WHERE k.revoked_at IS NULL AND k.expires_at IS NOT NULL AND k.replaced_by IS NULL
			AND k.expires_at > $1 AND k.expires_at <= $2
			AND NOT EXISTS (SELECT 1 FROM key_notices n WHERE n.key_id = k.id AND n.kind = $3)
		ORDER BY k.expires_at, k.id LIMIT $4`, from, to, kind, sqlLimit(limit))
	return collect(rows, err, scanKey, "postgres: keysDueNotice(%q)", kind)
}

// AddKeyNotice records a notice; false when the key had it already.
func (q queries) AddKeyNotice(ctx context.Context, keyID, kind string, at time.Time) (bool, error) {
	tag, err := q.db.Exec(ctx, `INSERT INTO key_notices (key_id, kind, sent_at) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, keyID, kind, at)
	if err != nil {
		return false, dbError(err, "postgres: addKeyNotice(%q)", keyID)
	}
	return tag.RowsAffected() == 1, nil
}
