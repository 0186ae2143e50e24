package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
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
	_, err = q.w.ExecContext(ctx, `INSERT INTO webhook_endpoints (`+endpointColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.OrgID, e.URL, e.Description, string(events), e.Enabled, e.Secret, micros(e.CreatedAt), micros(e.UpdatedAt))
	return conflict(err, "A webhook endpoint with this id already exists", "sqlite: createWebhookEndpoint(%q)", e.ID)
}

// GetWebhookEndpoint returns an endpoint by id.
func (q queries) GetWebhookEndpoint(ctx context.Context, id string) (*keyward.WebhookEndpoint, error) {
	e, err := scanEndpoint(q.r.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = ?`, id))
	if err != nil {
		return nil, notFound(err, "webhook endpoint", "sqlite: getWebhookEndpoint(%q)", id)
	}
	return e, nil
}

// ListWebhookEndpoints returns the org's endpoints, oldest first.
func (q queries) ListWebhookEndpoints(ctx context.Context, orgID string) ([]*keyward.WebhookEndpoint, error) {
	rows, err := q.r.QueryContext(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE org_id = ? ORDER BY id`, orgID)
	return collectRows(rows, err, scanEndpoint, "sqlite: listWebhookEndpoints(%q)", orgID)
}

// UpdateWebhookEndpoint writes an endpoint's mutable fields.
func (q queries) UpdateWebhookEndpoint(ctx context.Context, e *keyward.WebhookEndpoint) error {
	events, err := json.Marshal(e.Events)
	if err != nil {
		return err
	}
	res, err := q.w.ExecContext(ctx, `UPDATE webhook_endpoints SET url = ?, description = ?, events = ?,
		enabled = ?, secret = ?, updated_at = ? WHERE id = ?`,
		e.URL, e.Description, string(events), e.Enabled, e.Secret, micros(e.UpdatedAt), e.ID)
	return oneRow(res, err, "webhook endpoint", "sqlite: updateWebhookEndpoint(%q)", e.ID)
}

// DeleteWebhookEndpoint deletes an endpoint and (by cascade) its deliveries.
func (q queries) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	res, err := q.w.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE id = ?`, id)
	return oneRow(res, err, "webhook endpoint", "sqlite: deleteWebhookEndpoint(%q)", id)
}

func scanEndpoint(s scanner) (*keyward.WebhookEndpoint, error) {
	var e keyward.WebhookEndpoint
	var events string
	var created, updated int64
	if err := s.Scan(&e.ID, &e.OrgID, &e.URL, &e.Description, &events, &e.Enabled, &e.Secret, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(events), &e.Events); err != nil {
		return nil, err
	}
	e.CreatedAt, e.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &e, nil
}

// CreateWebhookMessage inserts a message.
func (q queries) CreateWebhookMessage(ctx context.Context, m *keyward.WebhookMessage) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO webhook_messages (id, org_id, type, created_at, payload)
		VALUES (?, ?, ?, ?, ?)`, m.ID, m.OrgID, m.Type, micros(m.CreatedAt), m.Payload)
	return dbError(err, "sqlite: createWebhookMessage(%q)", m.ID)
}

// GetWebhookMessage returns a message by id.
func (q queries) GetWebhookMessage(ctx context.Context, id string) (*keyward.WebhookMessage, error) {
	var m keyward.WebhookMessage
	var created int64
	err := q.r.QueryRowContext(ctx, `SELECT id, org_id, type, created_at, payload FROM webhook_messages WHERE id = ?`, id).
		Scan(&m.ID, &m.OrgID, &m.Type, &created, &m.Payload)
	if err != nil {
		return nil, notFound(err, "webhook message", "sqlite: getWebhookMessage(%q)", id)
	}
	m.CreatedAt = fromMicros(created)
	return &m, nil
}

const deliveryColumns = `id, message_id, endpoint_id, org_id, event_type, status, attempts, created_at,
	next_attempt_at, last_attempt_at, last_status_code, last_latency_ms, last_error, delivered_at,
	claim, lease_until`

// CreateWebhookDelivery inserts a delivery.
func (q queries) CreateWebhookDelivery(ctx context.Context, d *keyward.WebhookDelivery) error {
	var lease sql.NullInt64
	if !d.LeaseUntil.IsZero() {
		lease = sql.NullInt64{Int64: micros(d.LeaseUntil), Valid: true}
	}
	_, err := q.w.ExecContext(ctx, `INSERT INTO webhook_deliveries (`+deliveryColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.MessageID, d.EndpointID, d.OrgID, d.EventType, d.Status, d.Attempts, micros(d.CreatedAt),
		nullMicros(d.NextAttemptAt), nullMicros(d.LastAttemptAt), d.LastStatusCode, d.LastLatencyMS, d.LastError,
		nullMicros(d.DeliveredAt), d.Claim, lease)
	return dbError(err, "sqlite: createWebhookDelivery(%q)", d.ID)
}

// GetWebhookDelivery returns a delivery by id.
func (q queries) GetWebhookDelivery(ctx context.Context, id string) (*keyward.WebhookDelivery, error) {
	d, err := scanDelivery(q.r.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE id = ?`, id))
	if err != nil {
		return nil, notFound(err, "webhook delivery", "sqlite: getWebhookDelivery(%q)", id)
	}
	return d, nil
}

// ListWebhookDeliveries returns an endpoint's deliveries, newest first.
func (q queries) ListWebhookDeliveries(ctx context.Context, endpointID, before string, limit int) ([]*keyward.WebhookDelivery, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := q.r.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries
		WHERE endpoint_id = ? AND (? = '' OR id < ?) ORDER BY id DESC LIMIT ?`, endpointID, before, before, limit)
	return collectRows(rows, err, scanDelivery, "sqlite: listWebhookDeliveries(%q)", endpointID)
}

// claimWindow bounds how many of the oldest due deliveries a claim looks
// at to pick from.
const claimWindow = 1000

// ClaimWebhookDeliveries holds up to limit due deliveries for claim. One
// SQLite database has one writer at a time, so the UPDATE alone keeps two
// claims apart. Inside, each endpoint's due deliveries are numbered and
// counted with those already held, for the per-endpoint cap.
func (q queries) ClaimWebhookDeliveries(ctx context.Context, now, leaseUntil time.Time, claim string, limit, perEndpoint int) ([]*keyward.WebhookDelivery, error) {
	t := micros(now)
	rows, err := q.w.QueryContext(ctx, `UPDATE webhook_deliveries SET claim = ?1, lease_until = ?2
		WHERE id IN (
			SELECT c.id FROM (
				SELECT d.id, d.next_attempt_at,
					ROW_NUMBER() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at, d.id) AS n,
					(SELECT count(*) FROM webhook_deliveries h WHERE h.endpoint_id = d.endpoint_id
						AND h.status = 'pending' AND h.lease_until > ?3) AS busy
				FROM (SELECT id, endpoint_id, next_attempt_at FROM webhook_deliveries
					WHERE status = 'pending' AND next_attempt_at <= ?3 AND (lease_until IS NULL OR lease_until <= ?3)
					ORDER BY next_attempt_at LIMIT `+strconv.Itoa(claimWindow)+`) d
				JOIN webhook_endpoints e ON e.id = d.endpoint_id
				WHERE e.enabled) c
			WHERE ?5 = 0 OR c.n + c.busy <= ?5
			ORDER BY c.next_attempt_at, c.id LIMIT ?4)
		RETURNING `+deliveryColumns, claim, micros(leaseUntil), t, limit, perEndpoint)
	ds, err := collectRows(rows, err, scanDelivery, "sqlite: claimWebhookDeliveries")
	// RETURNING has no order of its own.
	slices.SortFunc(ds, func(a, b *keyward.WebhookDelivery) int {
		return cmp.Or(a.NextAttemptAt.Compare(*b.NextAttemptAt), strings.Compare(a.ID, b.ID))
	})
	return ds, err
}

// DeferWebhookDeliveries moves an endpoint's due, unheld deliveries to
// until.
func (q queries) DeferWebhookDeliveries(ctx context.Context, endpointID string, now, until time.Time) error {
	_, err := q.w.ExecContext(ctx, `UPDATE webhook_deliveries SET next_attempt_at = ?1
		WHERE endpoint_id = ?2 AND status = 'pending' AND next_attempt_at < ?1
			AND (lease_until IS NULL OR lease_until <= ?3)`, micros(until), endpointID, micros(now))
	return dbError(err, "sqlite: deferWebhookDeliveries(%q)", endpointID)
}

// FinishWebhookAttempt records an attempt's result if claim still holds
// the delivery, and releases it.
func (q queries) FinishWebhookAttempt(ctx context.Context, d *keyward.WebhookDelivery) error {
	res, err := q.w.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?,
		last_attempt_at = ?, last_status_code = ?, last_latency_ms = ?, last_error = ?, delivered_at = ?,
		claim = '', lease_until = NULL
		WHERE id = ? AND claim = ?`,
		d.Status, d.Attempts, nullMicros(d.NextAttemptAt), nullMicros(d.LastAttemptAt), d.LastStatusCode,
		d.LastLatencyMS, d.LastError, nullMicros(d.DeliveredAt), d.ID, d.Claim)
	return oneRow(res, err, "webhook delivery claim", "sqlite: finishWebhookAttempt(%q)", d.ID)
}

// PruneWebhooks deletes ended deliveries and orphaned messages from
// before t.
func (q queries) PruneWebhooks(ctx context.Context, before time.Time) error {
	return q.atomic(ctx, "pruneWebhooks", func(w dbtx) error {
		if _, err := w.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE status <> 'pending'
			AND COALESCE(delivered_at, last_attempt_at, created_at) < ?`, micros(before)); err != nil {
			return dbError(err, "sqlite: pruneWebhooks")
		}
		_, err := w.ExecContext(ctx, `DELETE FROM webhook_messages WHERE created_at < ?
			AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.message_id = webhook_messages.id)`, micros(before))
		return dbError(err, "sqlite: pruneWebhooks")
	})
}

func scanDelivery(s scanner) (*keyward.WebhookDelivery, error) {
	var d keyward.WebhookDelivery
	var created int64
	var next, last, delivered, lease sql.NullInt64
	err := s.Scan(&d.ID, &d.MessageID, &d.EndpointID, &d.OrgID, &d.EventType, &d.Status, &d.Attempts, &created,
		&next, &last, &d.LastStatusCode, &d.LastLatencyMS, &d.LastError, &delivered, &d.Claim, &lease)
	if err != nil {
		return nil, err
	}
	d.CreatedAt = fromMicros(created)
	d.NextAttemptAt, d.LastAttemptAt, d.DeliveredAt = timePtr(next), timePtr(last), timePtr(delivered)
	if lease.Valid {
		d.LeaseUntil = fromMicros(lease.Int64)
	}
	return &d, nil
}

// KeysDueNotice returns keys expiring in (from, to] without this notice.
// The keys_expiry index (migration 0013) serves it.
func (q queries) KeysDueNotice(ctx context.Context, kind string, from, to time.Time, limit int) ([]*keyward.Key, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := q.r.QueryContext(ctx, `SELECT `+keyReadColumns+` FROM keys k
		WHERE k.revoked_at IS NULL AND k.expires_at IS NOT NULL AND k.replaced_by IS NULL
			AND k.expires_at > ? AND k.expires_at <= ?
			AND NOT EXISTS (SELECT 1 FROM key_notices n WHERE n.key_id = k.id AND n.kind = ?)
		ORDER BY k.expires_at, k.id LIMIT ?`, micros(from), micros(to), kind, limit)
	return collectRows(rows, err, scanKey, "sqlite: keysDueNotice(%q)", kind)
}

// AddKeyNotice records a notice; false when the key had it already.
func (q queries) AddKeyNotice(ctx context.Context, keyID, kind string, at time.Time) (bool, error) {
	res, err := q.w.ExecContext(ctx, `INSERT INTO key_notices (key_id, kind, sent_at) VALUES (?, ?, ?)
		ON CONFLICT DO NOTHING`, keyID, kind, micros(at))
	if err != nil {
		return false, dbError(err, "sqlite: addKeyNotice(%q)", keyID)
	}
	n, err := res.RowsAffected()
	return n == 1, dbError(err, "sqlite: addKeyNotice(%q)", keyID)
}

// oneRow turns an UPDATE or DELETE that touched no row into NOT_FOUND.
func oneRow(res sql.Result, err error, what, format string, args ...any) error {
	if err != nil {
		return dbError(err, format, args...)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbError(err, format, args...)
	}
	if n == 0 {
		return keyward.NotFound(what)
	}
	return nil
}

// collectRows scans every row with scan.
func collectRows[T any](rows *sql.Rows, err error, scan func(scanner) (T, error), format string, args ...any) ([]T, error) {
	if err != nil {
		return nil, dbError(err, format, args...)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, dbError(err, format, args...)
		}
		out = append(out, v)
	}
	return out, dbError(rows.Err(), format, args...)
}
