package service

import (
	"context"
	"time"

	"github.com/keyward/keyward"
)

// CreateOrgInput names a new org; Slug is optional (made from the name).
type CreateOrgInput struct {
	Name string
	Slug string
}

// CreateOrg creates an org for a signed-in person, who becomes its owner.
// A slug that another org has is a CONFLICT that names it.
func (s *Service) CreateOrg(ctx context.Context, userID string, in CreateOrgInput, o Origin) (*keyward.Org, error) {
	name, fe := checkText("name", in.Name, MaxNameLen, false)
	slug := in.Slug
	if fe == nil {
		if slug == "" {
			slug = slugify(name)
		} else {
			fe = checkSlug(slug)
		}
	}
	if err := invalid(fe); err != nil {
		return nil, err
	}
	var org *keyward.Org
	err := s.inTx(ctx, func(q keyward.Queries) error {
		if _, err := q.GetUser(ctx, userID); err != nil {
			return err
		}
		var err error
		if org, err = s.createOrg(ctx, q, name, slug, userID, s.clock.Now()); err != nil {
			return err
		}
		a := UserActor(userID, org.ID, o)
		ev := s.event(a, AuditOrgCreate, "", keyward.ActorRef{Type: "org", ID: org.ID})
		ev.Details = map[string]any{"owner_user_id": userID, "slug": slug}
		return q.InsertAuditEvent(ctx, ev)
	})
	if err != nil {
		return nil, err
	}
	return org, nil
}

// createOrg is the one place that makes an org: the org with default
// settings, and ownerID as its owner.
func (s *Service) createOrg(ctx context.Context, q keyward.Queries, name, slug, ownerID string, now time.Time) (*keyward.Org, error) {
	org := &keyward.Org{ID: keyward.NewID(keyward.PrefixOrg), Name: name, Slug: slug, Settings: keyward.DefaultSettings(), CreatedAt: now}
	if err := q.CreateOrg(ctx, org); err != nil {
		if keyward.ErrorCode(err) == keyward.CodeConflict {
			return nil, keyward.Errorf(keyward.CodeConflict, "An organization with the slug %q already exists; choose another name or slug", slug)
		}
		return nil, err
	}
	if err := q.PutMember(ctx, &keyward.Member{OrgID: org.ID, UserID: ownerID, Role: keyward.OrgOwner, CreatedAt: now}); err != nil {
		return nil, err
	}
	return org, nil
}

// PublicLink is a link to path (with its query) on the configured public
// URL, for links that people are sent.
func (s *Service) PublicLink(pathAndQuery string) string { return s.publicURL + pathAndQuery }
