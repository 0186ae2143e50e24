package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/keyward/keyward"
)

const keyColumns = `id, kind, name, hint, project_id, org_id, scopes, created_at,
	created_by_type, created_by_id, owner_user_id, expires_at, last_used_at,
	revoked_at, revoked_by_type, revoked_by_id, revoke_reason, ip_allowlist,
	metadata, replaced_by, digest, rate_limit`

// keyReadColumns are keyColumns and the columns only TouchKeys writes.
const keyReadColumns = keyColumns + `, last_used_ip, last_used_user_agent`

// keyRow holds a key's column values in the order of keyColumns' mutable
// tail, shared by CreateKey and UpdateKey.
type keyRow struct {
	scopes, allowlist, metadata string
	projectID                   sql.NullString
	revokedByType, revokedByID  sql.NullString
	rateLimit                   sql.NullString
}

func encodeKey(k *keyward.Key) (keyRow, error) {
	var r keyRow
	var err error
	if r.scopes, err = toJSON(k.Scopes); err != nil {
		return r, err
	}
	if r.allowlist, err = toJSON(k.IPAllowlist); err != nil {
		return r, err
	}
	if r.metadata, err = toJSON(k.Metadata); err != nil {
		return r, err
	}
	if k.RateLimit != nil {
		s, err := toJSON(k.RateLimit)
		if err != nil {
			return r, err
		}
		r.rateLimit = sql.NullString{String: s, Valid: true}
	}
	if k.ProjectID != "" {
		r.projectID = sql.NullString{String: k.ProjectID, Valid: true}
	}
	if k.RevokedBy != nil {
		r.revokedByType = sql.NullString{String: k.RevokedBy.Type, Valid: true}
		r.revokedByID = sql.NullString{String: k.RevokedBy.ID, Valid: true}
	}
	return r, nil
}

// digestArg stores a digest; nil (or empty) is NULL, so an erased digest can
// never be matched.
func digestArg(d []byte) any {
	if len(d) == 0 {
		return nil
	}
	return d
}

// CreateKey inserts k and records its change, in one transaction. Its
// Status is not stored: it is derived from the timestamps when read.
func (q queries) CreateKey(ctx context.Context, k *keyward.Key) error {
	r, err := encodeKey(k)
	if err != nil {
		return err
	}
	return q.atomic(ctx, "createKey", func(w dbtx) error {
		_, err := w.ExecContext(ctx, `INSERT INTO keys (`+keyColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			k.ID, string(k.Kind), k.Name, k.Hint, r.projectID, k.OrgID, r.scopes, micros(k.CreatedAt),
			k.CreatedBy.Type, k.CreatedBy.ID, nullString(k.OwnerUserID), nullMicros(k.ExpiresAt),
			nullMicros(k.LastUsedAt), nullMicros(k.RevokedAt), r.revokedByType, r.revokedByID,
			nullString(k.RevokeReason), r.allowlist, r.metadata, nullString(k.ReplacedBy), digestArg(k.Digest), r.rateLimit)
		if err != nil {
			return conflict(err, "A key with this id or secret already exists", "sqlite: createKey(%q)", k.ID)
		}
		return recordKeyChange(ctx, w, k)
	})
}

// GetKey returns the key with the given id, revoked or not.
func (q queries) GetKey(ctx context.Context, id string) (*keyward.Key, error) {
	row := q.r.QueryRowContext(ctx, `SELECT `+keyReadColumns+` FROM keys WHERE id = ?`, id)
	k, err := scanKey(row)
	if err != nil {
		return nil, notFound(err, "key", "sqlite: getKey(%q)", id)
	}
	return k, nil
}

// GetKeyByDigest returns the key whose stored digest is d. Erased digests
// are NULL and never equal anything, so revoked keys are never found.
func (q queries) GetKeyByDigest(ctx context.Context, d []byte) (*keyward.Key, error) {
	if len(d) == 0 {
		return nil, keyward.NotFound("key")
	}
	row := q.r.QueryRowContext(ctx, `SELECT `+keyReadColumns+` FROM keys WHERE digest = ?`, d)
	k, err := scanKey(row)
	if err != nil {
		// Never name the digest: it is as good as the secret for a lookup.
		return nil, notFound(err, "key", "sqlite: getKeyByDigest")
	}
	return k, nil
}

// UpdateKey writes every mutable field of k, the digest included (nil
// erases it), and records its change, in one transaction.
func (q queries) UpdateKey(ctx context.Context, k *keyward.Key) error {
	r, err := encodeKey(k)
	if err != nil {
		return err
	}
	return q.atomic(ctx, "updateKey", func(w dbtx) error {
		res, err := w.ExecContext(ctx, `UPDATE keys SET
			name = ?, scopes = ?, ip_allowlist = ?, metadata = ?, owner_user_id = ?,
			expires_at = ?, revoked_at = ?, revoked_by_type = ?, revoked_by_id = ?,
			revoke_reason = ?, replaced_by = ?, digest = ?, rate_limit = ?
			WHERE id = ?`,
			k.Name, r.scopes, r.allowlist, r.metadata, nullString(k.OwnerUserID),
			nullMicros(k.ExpiresAt), nullMicros(k.RevokedAt), r.revokedByType, r.revokedByID,
			nullString(k.RevokeReason), nullString(k.ReplacedBy), digestArg(k.Digest), r.rateLimit, k.ID)
		if err != nil {
			return conflict(err, "A key with this secret already exists", "sqlite: updateKey(%q)", k.ID)
		}
		if err := mustAffect(res, "key"); err != nil {
			return err
		}
		return recordKeyChange(ctx, w, k)
	})
}

func scanKey(s scanner) (*keyward.Key, error) {
	var (
		k                                     keyward.Key
		kind, scopes, allowlist, metadata     string
		projectID, owner, revokedByType       sql.NullString
		revokedByID, revokeReason, replacedBy sql.NullString
		rateLimit, lastIP, lastUA             sql.NullString
		created                               int64
		expires, lastUsed, revoked            sql.NullInt64
		digest                                []byte
	)
	err := s.Scan(&k.ID, &kind, &k.Name, &k.Hint, &projectID, &k.OrgID, &scopes, &created,
		&k.CreatedBy.Type, &k.CreatedBy.ID, &owner, &expires, &lastUsed,
		&revoked, &revokedByType, &revokedByID, &revokeReason, &allowlist,
		&metadata, &replacedBy, &digest, &rateLimit, &lastIP, &lastUA)
	if err != nil {
		return nil, err
	}
	k.Kind = keyward.KeyKind(kind)
	k.ProjectID = projectID.String
	k.CreatedAt = fromMicros(created)
	k.OwnerUserID = stringPtr(owner)
	k.ExpiresAt = timePtr(expires)
	k.LastUsedAt = timePtr(lastUsed)
	k.LastUsedIP, k.LastUsedUserAgent = stringPtr(lastIP), stringPtr(lastUA)
	k.RevokedAt = timePtr(revoked)
	if revokedByType.Valid {
		k.RevokedBy = &keyward.ActorRef{Type: revokedByType.String, ID: revokedByID.String}
	}
	k.RevokeReason = stringPtr(revokeReason)
	k.ReplacedBy = stringPtr(replacedBy)
	if len(digest) > 0 {
		k.Digest = digest
	}
	if k.Scopes, err = stringsFromJSON(scopes); err != nil {
		return nil, err
	}
	if k.IPAllowlist, err = stringsFromJSON(allowlist); err != nil {
		return nil, err
	}
	if k.Metadata, err = mapFromJSON[string](metadata); err != nil {
		return nil, err
	}
	if rateLimit.Valid {
		k.RateLimit = new(keyward.RateLimit)
		if err := json.Unmarshal([]byte(rateLimit.String), k.RateLimit); err != nil {
			return nil, fmt.Errorf("sqlite: key %q: decode rate limit: %w", k.ID, err)
		}
	}
	return &k, nil
}
