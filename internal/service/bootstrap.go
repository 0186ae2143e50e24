package service

import (
	"context"

	"github.com/keyward/keyward"
)

// BootstrapInput creates the first org and its owner.
type BootstrapInput struct {
	OrgName  string
	Email    string
	Password string // empty: the user has no password yet (set it later)
}

// BootstrapResult is what bootstrap creates; OrgKey carries its secret.
type BootstrapResult struct {
	Org    *keyward.Org
	User   *keyward.User
	OrgKey *keyward.Key
}

// Bootstrap creates an org, its owner and a full-access org key on an empty
// store, in one transaction. It refuses when any org exists.
func (s *Service) Bootstrap(ctx context.Context, in BootstrapInput) (*BootstrapResult, error) {
	name, e1 := checkText("org", in.OrgName, MaxNameLen, false)
	email, e2 := checkEmail(in.Email)
	var e3 *keyward.FieldError
	if in.Password != "" && len(in.Password) < 8 {
		e3 = &keyward.FieldError{Field: "password", Problem: "must be at least 8 characters"}
	}
	if err := invalid(e1, e2, e3); err != nil {
		return nil, err
	}
	var hash string
	if in.Password != "" {
		var err error
		if hash, err = s.hashPassword(ctx, in.Password); err != nil {
			return nil, err
		}
	}
	var out BootstrapResult
	err := s.inTx(ctx, func(q keyward.Queries) error {
		n, err := q.CountOrgs(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			return keyward.Errorf(keyward.CodeConflict, "This keyward store is already set up")
		}
		now := s.clock.Now()
		out.User = &keyward.User{ID: keyward.NewID(keyward.PrefixUser), Email: email, CreatedAt: now}
		out.User.PasswordHash = hash
		if err := q.CreateUser(ctx, out.User); err != nil {
			return err
		}
		if out.Org, err = s.createOrg(ctx, q, name, slugify(name), out.User.ID, now); err != nil {
			return err
		}
		a := UserActor(out.User.ID, out.Org.ID, Origin{})
		k, err := s.newKey(a, Where{}, nil, out.Org, keyward.CreateKeyInput{Name: "bootstrap"}, now)
		if err != nil {
			return err
		}
		k.OwnerUserID = nil // the organization's own key, for automation
		if err := q.CreateKey(ctx, k); err != nil {
			return err
		}
		out.OrgKey = k
		ev := s.event(a, AuditOrgCreate, "", keyward.ActorRef{Type: "org", ID: out.Org.ID})
		ev.Actor = keyward.ActorRef{Type: keyward.ActorSystem}
		ev.Details = map[string]any{"owner_user_id": out.User.ID, "org_key_id": k.ID}
		return q.InsertAuditEvent(ctx, ev)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
