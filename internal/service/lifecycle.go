package service

import (
	"context"
	"time"

	"github.com/keyward/keyward"
)

// changeableKey locks the org and loads key id for a change by a; it also
// returns the org as locked (for its settings) and what a may leave on the
// key. It is the one answer to "may a change this key": anyone with write
// access may change their own keys; someone else's project key needs a
// project admin; and a key may only change keys it could have made itself
// (within its ceiling), never while it is itself replaced by rotation. With
// selfOK a key may act on itself whatever its scopes (revoking itself).
func (s *Service) changeableKey(ctx context.Context, q keyward.Queries, a *Actor, w Where, id, auditAction string, selfOK bool) (*keyward.Key, *keyward.Org, ceiling, error) {
	org, err := q.LockOrg(ctx, a.OrgID)
	if err != nil {
		return nil, nil, ceiling{}, err
	}
	self := a.Key != nil && a.Key.ID == id
	var p *keyward.Project
	if selfOK && self {
		if err := s.refresh(ctx, q, a); err != nil {
			return nil, nil, ceiling{}, err
		}
	} else if p, err = s.access(ctx, q, a, w, actKeysWrite, auditAction); err != nil {
		return nil, nil, ceiling{}, err
	}
	k, err := loadKey(ctx, q, a, w, id)
	if err != nil {
		return nil, nil, ceiling{}, err
	}
	c := ceilingFor(a, w, p)
	if selfOK && self {
		return k, org, c, nil
	}
	if ok, why := c.admits(k); !ok {
		return nil, nil, ceiling{}, s.denied(a, auditAction, w.ProjectID, keyRef(k), "A key can only change keys it could have made itself; this key has "+why)
	}
	if w.ProjectID == "" || ownsKey(a, k) {
		return k, org, c, nil
	}
	// Org keys, and project keys that belong to no user (automation made by
	// an org key), administer the project's keys with keys:write. A project
	// key that belongs to a user acts with that user's role: a developer's
	// key must not do what the developer may not.
	holder := a
	if a.Key != nil {
		if a.Key.Kind == keyward.KindOrg || a.Key.OwnerUserID == nil {
			return k, org, c, nil
		}
		holder = UserActor(*a.Key.OwnerUserID, a.OrgID, a.Origin)
	}
	role, err := s.projectRole(ctx, q, holder, w.ProjectID)
	if err != nil {
		return nil, nil, ceiling{}, err
	}
	if projectRank(role) < projectRank(keyward.ProjectAdmin) {
		return nil, nil, ceiling{}, s.denied(a, auditAction, w.ProjectID, keyRef(k), "Only project admins may change keys that other members own")
	}
	return k, org, c, nil
}

// UpdateKey renames a key or changes its metadata, IP allowlist or scopes
// (which may only narrow).
func (s *Service) UpdateKey(ctx context.Context, a *Actor, w Where, id string, in keyward.KeyPatch) (*keyward.Key, error) {
	var out *keyward.Key
	var limitBefore *keyward.RateLimit
	err := s.inTx(ctx, func(q keyward.Queries) error {
		k, _, c, err := s.changeableKey(ctx, q, a, w, id, AuditKeyUpdate, false)
		if err != nil {
			return err
		}
		limitBefore = k.RateLimit
		now := s.clock.Now()
		if !k.Usable(now) {
			return keyward.Errorf(keyward.CodeConflict, "This key is %s and can no longer be changed", k.StatusAt(now))
		}
		changes := map[string]any{}
		if in.Name != nil {
			name, fe := checkText("name", *in.Name, MaxNameLen, false)
			if fe != nil {
				return invalid(fe)
			}
			k.Name, changes["name"] = name, name
		}
		if in.Scopes != nil {
			for _, sc := range *in.Scopes {
				if !k.HasScope(sc) {
					return invalid(&keyward.FieldError{Field: "scopes", Problem: "may only narrow: the key does not hold " + quoteSafe(sc)})
				}
			}
			scopes, fe := checkScopes(*in.Scopes, k.Scopes)
			if fe != nil {
				return invalid(fe)
			}
			k.Scopes, changes["scopes"] = scopes, scopes
		}
		if in.IPAllowlist != nil {
			list, fe := checkAllowlist(*in.IPAllowlist)
			if fe != nil {
				return invalid(fe)
			}
			k.IPAllowlist, changes["ip_allowlist"] = list, list
		}
		if in.Metadata != nil {
			md, fe := checkMetadata(*in.Metadata)
			if fe != nil {
				return invalid(fe)
			}
			k.Metadata, changes["metadata_keys"] = md, len(md)
		}
		switch {
		case in.ClearRateLimit && in.RateLimit != nil:
			return invalid(&keyward.FieldError{Field: "rate_limit", Problem: "set it or clear it, not both"})
		case in.ClearRateLimit:
			k.RateLimit, changes["rate_limit"] = nil, nil
		case in.RateLimit != nil:
			rl, fe := checkRateLimit(in.RateLimit)
			if fe != nil {
				return invalid(fe)
			}
			k.RateLimit, changes["rate_limit"] = rl, rl
		}
		if err := s.withinCeiling(a, c, w, k, AuditKeyUpdate, keyRef(k), "leave"); err != nil {
			return err
		}
		if err := q.UpdateKey(ctx, k); err != nil {
			return err
		}
		ev := s.event(a, AuditKeyUpdate, w.ProjectID, keyRef(k))
		ev.Details = changes
		if err := q.InsertAuditEvent(ctx, ev); err != nil {
			return err
		}
		k.Status = k.StatusAt(now)
		out = k
		return nil
	})
	if err != nil {
		return nil, s.finish(ctx, err)
	}
	s.carryBudget(ctx, out.ID, limitBefore, out.ID, out.RateLimit)
	return out, nil
}

// RevokeKey revokes a key for good: its digest is erased and the row stays
// as a tombstone. Revoking a revoked key returns it unchanged and writes no
// second audit event (the org lock makes concurrent revokes take turns).
func (s *Service) RevokeKey(ctx context.Context, a *Actor, w Where, id string, in keyward.RevokeInput) (*keyward.Key, error) {
	reason, fe := checkText("reason", in.Reason, MaxReasonLen, true)
	if fe != nil {
		return nil, invalid(fe)
	}
	var out *keyward.Key
	err := s.inTx(ctx, func(q keyward.Queries) error {
		k, _, _, err := s.changeableKey(ctx, q, a, w, id, AuditKeyRevoke, true)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		if k.RevokedAt == nil {
			revoke(k, a, now, reason)
			if err := q.UpdateKey(ctx, k); err != nil {
				return err
			}
			ev := s.event(a, AuditKeyRevoke, w.ProjectID, keyRef(k))
			if reason != "" {
				ev.Details["reason"] = reason
			}
			if err := q.InsertAuditEvent(ctx, ev); err != nil {
				return err
			}
		}
		k.Status = k.StatusAt(now)
		out = k
		return nil
	})
	if err != nil {
		return nil, s.finish(ctx, err)
	}
	return out, nil
}

// revoke marks k revoked by a and erases its digest.
func revoke(k *keyward.Key, a *Actor, now time.Time, reason string) {
	by := a.Ref()
	k.RevokedAt, k.RevokedBy, k.Digest = &now, &by, nil
	if reason != "" {
		k.RevokeReason = &reason
	}
}

// RotateKey replaces a key in one transaction: the new key keeps the old
// one's name, scopes, allowlist, metadata, owner and lifetime; the old key
// is revoked at once (grace 0) or expires when the grace period ends.
// A rotation without a grace period keeps the count of usable keys and is
// never held to the limits; with one, the old key stays usable for a while,
// which may take a limit one key over, never more.
func (s *Service) RotateKey(ctx context.Context, a *Actor, w Where, id string, in keyward.RotateInput) (*keyward.Key, error) {
	var grace time.Duration
	if in.GracePeriod != nil {
		grace = in.GracePeriod.Std()
	}
	var out, replaced *keyward.Key
	err := s.inTx(ctx, func(q keyward.Queries) error {
		old, org, c, err := s.changeableKey(ctx, q, a, w, id, AuditKeyRotate, false)
		replaced = old
		if err != nil {
			return err
		}
		maxGrace := min(MaxGrace, org.Settings.RotationMaxGrace.Std())
		if grace < 0 || grace > maxGrace {
			return invalid(&keyward.FieldError{Field: "grace_period", Problem: "must be between 0s and " + keyward.Duration(maxGrace).Human()})
		}
		now := s.clock.Now()
		switch {
		case !old.Usable(now):
			return keyward.Errorf(keyward.CodeConflict, "This key is %s and cannot be rotated", old.StatusAt(now))
		case old.ReplacedBy != nil:
			return keyward.Errorf(keyward.CodeConflict, "This key was already rotated; rotate its replacement %s instead", *old.ReplacedBy)
		}
		nk := successor(old, a, now)
		// The new key is a new key: the lifetime policy holds for it, and
		// it may not outlive the key that makes it (a key cannot renew
		// itself past its own expiry).
		if max := org.Settings.MaxKeyLifetime; max != nil {
			nk.ExpiresAt = earliest(nk.ExpiresAt, now.Add(max.Std()))
		}
		if c.expiresAt != nil {
			nk.ExpiresAt = earliest(nk.ExpiresAt, *c.expiresAt)
		}
		if grace > 0 {
			// The old key stays usable: at most one key over the limits.
			if err := s.checkLimits(ctx, q, org, nk, now, 1); err != nil {
				return err
			}
		}
		s.issueSecret(nk)
		if err := q.CreateKey(ctx, nk); err != nil {
			return err
		}
		old.ReplacedBy = &nk.ID
		if grace == 0 {
			revoke(old, a, now, "rotated")
		} else if end := now.Add(grace); old.ExpiresAt == nil || end.Before(*old.ExpiresAt) {
			old.ExpiresAt = &end
		}
		if err := q.UpdateKey(ctx, old); err != nil {
			return err
		}
		ev := s.event(a, AuditKeyRotate, w.ProjectID, keyRef(old))
		ev.Details = map[string]any{"new_key_id": nk.ID, "grace_period": keyward.Duration(grace).Human()}
		if err := q.InsertAuditEvent(ctx, ev); err != nil {
			return err
		}
		nk.Status = nk.StatusAt(now)
		out = nk
		return nil
	})
	if err != nil {
		return nil, s.finish(ctx, err)
	}
	s.carryBudget(ctx, replaced.ID, replaced.RateLimit, out.ID, out.RateLimit)
	return out, nil
}

// earliest returns the earlier of an optional end and t.
func earliest(end *time.Time, t time.Time) *time.Time {
	if end == nil || t.Before(*end) {
		return &t
	}
	return end
}

// successor builds the key that replaces old, with the same settings.
func successor(old *keyward.Key, a *Actor, now time.Time) *keyward.Key {
	nk := &keyward.Key{
		ID: keyward.NewID(keyward.PrefixKey), Kind: old.Kind, Name: old.Name,
		ProjectID: old.ProjectID, OrgID: old.OrgID, Scopes: old.Scopes,
		CreatedAt: now, CreatedBy: a.Ref(), OwnerUserID: old.OwnerUserID,
		IPAllowlist: old.IPAllowlist, Metadata: old.Metadata, RateLimit: old.RateLimit,
	}
	if old.ExpiresAt != nil { // keep the lifetime: callers refuse already-rotated keys
		end := now.Add(old.ExpiresAt.Sub(old.CreatedAt))
		nk.ExpiresAt = &end
	}
	return nk
}
