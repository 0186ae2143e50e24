package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/keyward/keyward"
)

const keyColumns = `id, kind, name, hint, project_id, org_id, scopes, created_at,
	created_by_type, created_by_id, owner_user_id, expires_at, last_used_at,
	revoked_at, revoked_by_type, revoked_by_id, revoke_reason, ip_allowlist,
	metadata, replaced_by, digest, rate_limit`

// keyReadColumns are keyColumns and the columns only TouchKeys writes.
const keyReadColumns = keyColumns + `, last_used_ip, last_used_user_agent`

// keyRow holds the column values of a key that need encoding, shared by
// CreateKey and UpdateKey.
type keyRow struct {
	scopes, allowlist, metadata []byte
	rateLimit                   []byte // nil is NULL
	projectID                   *string
	revokedByType, revokedByID  *string
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
		if r.rateLimit, err = toJSON(k.RateLimit); err != nil {
			return r, err
		}
	}
	if k.ProjectID != "" {
		r.projectID = &k.ProjectID
	}
	if k.RevokedBy != nil {
		r.revokedByType, r.revokedByID = &k.RevokedBy.Type, &k.RevokedBy.ID
	}
	return r, nil
}

// CreateKey inserts k and records its change, in one transaction (see
// writeKeys). Its Status is not stored: it is derived from the timestamps
// when read.
func (q queries) CreateKey(ctx context.Context, k *keyward.Key) error {
	r, err := encodeKey(k)
	if err != nil {
		return err
	}
	const taken = "A key with this id or secret already exists"
	return q.atomic(ctx, "createKey", func(db dbtx) error {
		// ON CONFLICT DO NOTHING, as in insert: a duplicate is reported
		// without a failed statement, so an enclosing transaction stays
		// usable.
		n, err := writeKeys(ctx, db, `INSERT INTO keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
			$11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
			ON CONFLICT DO NOTHING `+returningOwner,
			k.ID, string(k.Kind), k.Name, k.Hint, r.projectID, k.OrgID, r.scopes, k.CreatedAt,
			k.CreatedBy.Type, k.CreatedBy.ID, k.OwnerUserID, k.ExpiresAt,
			k.LastUsedAt, k.RevokedAt, r.revokedByType, r.revokedByID,
			k.RevokeReason, r.allowlist, r.metadata, k.ReplacedBy, digestArg(k.Digest), r.rateLimit)
		if err != nil {
			return conflict(err, taken, "postgres: createKey(%q)", k.ID)
		}
		if n == 0 {
			e := keyward.Errorf(keyward.CodeConflict, "%s", taken)
			e.Err = fmt.Errorf("postgres: createKey(%q): duplicate row", k.ID)
			return e
		}
		return nil
	})
}

// GetKey returns the key with the given id, revoked or not.
func (q queries) GetKey(ctx context.Context, id string) (*keyward.Key, error) {
	row := q.db.QueryRow(ctx, `SELECT `+keyReadColumns+` FROM keys WHERE id = $1`, id)
	k, err := scanKey(row)
	if err != nil {
		return nil, notFound(err, "key", "postgres: getKey(%q)", id)
	}
	return k, nil
}

// GetKeyByDigest returns the key whose stored digest is d. Erased digests
// are NULL and never equal anything, so revoked keys are never found.
func (q queries) GetKeyByDigest(ctx context.Context, d []byte) (*keyward.Key, error) {
	if len(d) == 0 {
		return nil, keyward.NotFound("key")
	}
	row := q.db.QueryRow(ctx, `SELECT `+keyReadColumns+` FROM keys WHERE digest = $1`, d)
	k, err := scanKey(row)
	if err != nil {
		// Never name the digest: it is as good as the secret for a lookup.
		return nil, notFound(err, "key", "postgres: getKeyByDigest")
	}
	return k, nil
}

// UpdateKey writes every mutable field of k, the digest included (nil
// erases it), and records its change, in one transaction (see writeKeys).
func (q queries) UpdateKey(ctx context.Context, k *keyward.Key) error {
	r, err := encodeKey(k)
	if err != nil {
		return err
	}
	return q.atomic(ctx, "updateKey", func(db dbtx) error {
		n, err := writeKeys(ctx, db, `UPDATE keys SET
			name = $1, scopes = $2, ip_allowlist = $3, metadata = $4, owner_user_id = $5,
			expires_at = $6, revoked_at = $7, revoked_by_type = $8, revoked_by_id = $9,
			revoke_reason = $10, replaced_by = $11, digest = $12, rate_limit = $13
			WHERE id = $14 `+returningOwner,
			k.Name, r.scopes, r.allowlist, r.metadata, k.OwnerUserID,
			k.ExpiresAt, k.RevokedAt, r.revokedByType, r.revokedByID,
			k.RevokeReason, k.ReplacedBy, digestArg(k.Digest), r.rateLimit, k.ID)
		if err != nil {
			return conflict(err, "A key with this secret already exists", "postgres: updateKey(%q)", k.ID)
		}
		if n == 0 {
			return keyward.NotFound("key")
		}
		return nil
	})
}

func scanKey(s scanner) (*keyward.Key, error) {
	var (
		k                                     keyward.Key
		kind                                  string
		scopes, allowlist, metadata, digest   []byte
		rateLimit                             []byte
		projectID, revokedByType, revokedByID *string
		created                               time.Time
		expires, lastUsed, revoked            *time.Time
	)
	err := s.Scan(&k.ID, &kind, &k.Name, &k.Hint, &projectID, &k.OrgID, &scopes, &created,
		&k.CreatedBy.Type, &k.CreatedBy.ID, &k.OwnerUserID, &expires, &lastUsed,
		&revoked, &revokedByType, &revokedByID, &k.RevokeReason, &allowlist,
		&metadata, &k.ReplacedBy, &digest, &rateLimit, &k.LastUsedIP, &k.LastUsedUserAgent)
	if err != nil {
		return nil, err
	}
	k.Kind = keyward.KeyKind(kind)
	if projectID != nil {
		k.ProjectID = *projectID
	}
	k.CreatedAt = utc(created)
	k.ExpiresAt = utcPtr(expires)
	k.LastUsedAt = utcPtr(lastUsed)
	k.RevokedAt = utcPtr(revoked)
	if revokedByType != nil {
		k.RevokedBy = &keyward.ActorRef{Type: *revokedByType}
		if revokedByID != nil {
			k.RevokedBy.ID = *revokedByID
		}
	}
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
	if rateLimit != nil {
		k.RateLimit = new(keyward.RateLimit)
		if err := json.Unmarshal(rateLimit, k.RateLimit); err != nil {
			return nil, fmt.Errorf("postgres: key %q: decode rate limit: %w", k.ID, err)
		}
	}
	return &k, nil
}
