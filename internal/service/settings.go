package service

import (
	"context"
	"time"

	"github.com/keyward/keyward"
)

// Bounds of the settings.
const (
	MaxKeysSetting    = 1_000_000 // the largest value of max_keys_per_user, max_keys_per_project and max_org_keys
	MinMaxKeyLifetime = time.Hour // the shortest max_key_lifetime
)

// GetSettings returns the org's limits and policies.
func (s *Service) GetSettings(ctx context.Context, a *Actor) (*keyward.Settings, error) {
	if _, err := s.orgAccess(ctx, s.store, a, actSettingsRead, AuditSettingsRead); err != nil {
		return nil, s.finish(ctx, err)
	}
	org, err := s.store.GetOrg(ctx, a.OrgID)
	if err != nil {
		return nil, err
	}
	org.Settings.LeakPolicy = org.Settings.LeakAction()
	return &org.Settings, nil
}

// UpdateSettings changes the org's limits and policies. Lowering a limit
// below the keys already issued keeps those keys; it only stops new ones.
func (s *Service) UpdateSettings(ctx context.Context, a *Actor, in keyward.SettingsPatch) (*keyward.Settings, error) {
	var out *keyward.Settings
	err := s.inTx(ctx, func(q keyward.Queries) error {
		org, err := q.LockOrg(ctx, a.OrgID)
		if err != nil {
			return err
		}
		if _, err := s.orgAccess(ctx, q, a, actSettingsWrite, AuditSettingsUpdate); err != nil {
			return err
		}
		before := org.Settings
		st := &org.Settings
		var errs []*keyward.FieldError
		setLimit := func(field string, v *int, dst *int) {
			if v == nil {
				return
			}
			if *v < 1 || *v > MaxKeysSetting {
				errs = append(errs, &keyward.FieldError{Field: field, Problem: "must be between 1 and 1000000"})
				return
			}
			*dst = *v
		}
		setLimit("max_keys_per_user", in.MaxKeysPerUser, &st.MaxKeysPerUser)
		setLimit("max_keys_per_project", in.MaxKeysPerProject, &st.MaxKeysPerProject)
		setLimit("max_org_keys", in.MaxOrgKeys, &st.MaxOrgKeys)
		switch {
		case in.ClearMaxKeyLifetime && in.MaxKeyLifetime != nil:
			errs = append(errs, &keyward.FieldError{Field: "max_key_lifetime", Problem: "set it or clear it, not both"})
		case in.ClearMaxKeyLifetime:
			st.MaxKeyLifetime = nil
		case in.MaxKeyLifetime != nil:
			if in.MaxKeyLifetime.Std() < MinMaxKeyLifetime {
				errs = append(errs, &keyward.FieldError{Field: "max_key_lifetime", Problem: "must be at least 1h"})
			}
			d := *in.MaxKeyLifetime
			st.MaxKeyLifetime = &d
		}
		if in.RotationMaxGrace != nil {
			if g := in.RotationMaxGrace.Std(); g < 0 || g > MaxGrace {
				errs = append(errs, &keyward.FieldError{Field: "rotation_max_grace", Problem: "must be between 0s and 7d"})
			}
			st.RotationMaxGrace = *in.RotationMaxGrace
		}
		st.LeakPolicy = st.LeakAction()
		if in.LeakPolicy != nil {
			if *in.LeakPolicy != keyward.LeakRevoke && *in.LeakPolicy != keyward.LeakFlag {
				errs = append(errs, &keyward.FieldError{Field: "leak_policy", Problem: "must be revoke or flag"})
			}
			st.LeakPolicy = *in.LeakPolicy
		}
		if err := invalid(errs...); err != nil {
			return err
		}
		if err := q.UpdateOrg(ctx, org); err != nil {
			return err
		}
		ev := s.event(a, AuditSettingsUpdate, "", keyward.ActorRef{Type: "org", ID: org.ID})
		ev.Details = map[string]any{"before": before, "after": *st}
		out = st
		return q.InsertAuditEvent(ctx, ev)
	})
	return out, s.finish(ctx, err)
}
