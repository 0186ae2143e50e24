package service

import (
	"context"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/apikey"
)

// MaxGrace is the longest rotation grace period.
const MaxGrace = 168 * time.Hour

// Where names the keys an operation works on: the project keys of
// ProjectID, or the org's own keys when ProjectID is "".
type Where struct {
	ProjectID string
}

func (w Where) kind() keyward.KeyKind {
	if w.ProjectID == "" {
		return keyward.KindOrg
	}
	return keyward.KindProject
}

// access checks that a may take act on the keys w names. For project keys
// it returns the project.
func (s *Service) access(ctx context.Context, q keyward.Queries, a *Actor, w Where, act action, auditAction string) (*keyward.Project, error) {
	if w.ProjectID != "" {
		return s.projectAccess(ctx, q, a, w.ProjectID, act, auditAction)
	}
	orgAct := actOrgKeysWrite
	if act == actKeysRead {
		orgAct = actOrgKeysRead
	}
	_, err := s.orgAccess(ctx, q, a, orgAct, auditAction)
	return nil, err
}

// loadKey finds key id among the keys w names in a's org; anything else is
// NOT_FOUND.
func loadKey(ctx context.Context, q keyward.Queries, a *Actor, w Where, id string) (*keyward.Key, error) {
	if !keyward.ValidID(keyward.PrefixKey, id) {
		return nil, keyward.NotFound("key")
	}
	k, err := q.GetKey(ctx, id)
	if err != nil {
		return nil, err
	}
	if k.OrgID != a.OrgID || k.Kind != w.kind() || k.ProjectID != w.ProjectID {
		return nil, keyward.NotFound("key")
	}
	return k, nil
}

// KeyStatusFilters are the values of ListKeysQuery.Status but "".
var KeyStatusFilters = []string{"active", "expiring", "revoked", "expired", "all"}

// ListKeysQuery selects keys. Status is "", "active" (active and
// expiring), "expiring", "revoked", "expired" or "all". Search (in names
// and hints), OwnerUserID and Scope narrow the list ("" = any); Order
// sorts it.
type ListKeysQuery struct {
	Status      string
	Search      string
	OwnerUserID string
	Scope       string
	Order       keyward.KeyOrder
	Limit       int
	Cursor      string
}

// KeyPage is a page of keys with the cursors of the pages either side of
// it ("" = none).
type KeyPage struct {
	Keys       []*keyward.Key
	Next, Prev string
}

// ListKeys lists the keys w names, newest first unless q orders them
// otherwise: KeyPage's page in the API's shape.
func (s *Service) ListKeys(ctx context.Context, a *Actor, w Where, q ListKeysQuery) (*keyward.Page[*keyward.Key], error) {
	kp, err := s.KeyPage(ctx, a, w, q)
	if err != nil {
		return nil, err
	}
	page := &keyward.Page[*keyward.Key]{Data: kp.Keys}
	if kp.Next != "" {
		page.NextCursor = &kp.Next
	}
	if kp.Prev != "" {
		page.PrevCursor = &kp.Prev
	}
	return page, nil
}

// MaxSearch bounds a search's length: longer than any key's name.
const MaxSearch = 200

// KeyPage lists a page of the keys w names, as ListKeys, with the cursors
// of the next and the previous page. Search, owner, scope and order are
// the store's (one query, however many keys the project has).
func (s *Service) KeyPage(ctx context.Context, a *Actor, w Where, q ListKeysQuery) (*KeyPage, error) {
	if _, err := s.access(ctx, s.store, a, w, actKeysRead, AuditKeyRead); err != nil {
		return nil, s.finish(ctx, err)
	}
	var bad []keyward.FieldError
	if q.Status != "" && !slices.Contains(KeyStatusFilters, q.Status) {
		bad = append(bad, keyward.FieldError{Field: "status", Problem: "must be active, expiring, revoked, expired or all"})
	}
	if utf8.RuneCountInString(q.Search) > MaxSearch {
		bad = append(bad, keyward.FieldError{Field: "search", Problem: "must be at most 200 characters"})
	}
	if q.OwnerUserID != "" && !keyward.ValidID(keyward.PrefixUser, q.OwnerUserID) {
		bad = append(bad, keyward.FieldError{Field: "owner", Problem: "must be a user id"})
	}
	if utf8.RuneCountInString(q.Scope) > MaxSearch {
		bad = append(bad, keyward.FieldError{Field: "scope", Problem: "must be at most 200 characters"})
	}
	if !slices.Contains(keyward.KeyOrders, q.Order) {
		bad = append(bad, keyward.FieldError{Field: "order", Problem: "must be oldest, used or used_least, or left out for newest first"})
	}
	if len(bad) > 0 {
		return nil, keyward.Invalid(bad...)
	}
	limit, _, err := pageArgs(q.Limit, "")
	if err != nil {
		return nil, err
	}
	from, err := decodeKeyCursor(q.Cursor, q.Order)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	f := keyward.KeyFilter{
		OrgID: a.OrgID, Kind: w.kind(), ProjectID: w.ProjectID, OwnerUserID: q.OwnerUserID,
		Status: q.Status, Search: q.Search, Scope: q.Scope, Order: q.Order, Now: now, Limit: limit + 1,
	}
	if from != nil {
		f.After, f.Back = &from.pos, from.back
	}
	keys, err := s.store.ListKeys(ctx, f)
	if err != nil {
		return nil, err
	}
	more := len(keys) > limit
	if f.Back && !more {
		// Back at the start: the first page, whole, as without a cursor.
		q.Cursor = ""
		return s.KeyPage(ctx, a, w, q)
	}
	page := &KeyPage{Keys: keys}
	cursor := func(k *keyward.Key, back bool) string {
		return keyCursor{order: q.Order, back: back, pos: keyward.KeyPos{ID: k.ID, LastUsedAt: k.LastUsedAt}}.encode()
	}
	switch {
	case f.Back: // the extra key is the first: there is a page before
		page.Keys = keys[1:]
		page.Prev = cursor(page.Keys[0], true)
		page.Next = cursor(page.Keys[len(page.Keys)-1], false)
	default:
		if more {
			page.Keys = keys[:limit]
			page.Next = cursor(page.Keys[limit-1], false)
		}
		if from != nil && len(page.Keys) > 0 {
			page.Prev = cursor(page.Keys[0], true)
		} else if from != nil {
			page.Prev = keyCursor{order: q.Order, back: true, pos: from.pos}.encode()
		}
	}
	for _, k := range page.Keys {
		k.Status = k.StatusAt(now)
	}
	return page, nil
}

// GetKey returns one key.
func (s *Service) GetKey(ctx context.Context, a *Actor, w Where, id string) (*keyward.Key, error) {
	if _, err := s.access(ctx, s.store, a, w, actKeysRead, AuditKeyRead); err != nil {
		return nil, s.finish(ctx, err)
	}
	k, err := loadKey(ctx, s.store, a, w, id)
	if err != nil {
		return nil, err
	}
	k.Status = k.StatusAt(s.clock.Now())
	return k, nil
}

// CreateKey issues a new key and returns it with its secret, shown this
// once. The org's key limits are checked in the same transaction that
// inserts the key, under the org's lock, so two creates cannot both take
// the last slot.
func (s *Service) CreateKey(ctx context.Context, a *Actor, w Where, in keyward.CreateKeyInput) (*keyward.Key, error) {
	var out *keyward.Key
	err := s.inTx(ctx, func(q keyward.Queries) error {
		org, err := q.LockOrg(ctx, a.OrgID)
		if err != nil {
			return err
		}
		p, err := s.access(ctx, q, a, w, actKeysWrite, AuditKeyCreate)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		k, err := s.newKey(a, w, p, org, in, now)
		if err != nil {
			return err
		}
		if err := s.checkLimits(ctx, q, org, k, now, 0); err != nil {
			return err
		}
		if err := q.CreateKey(ctx, k); err != nil {
			return err
		}
		ev := s.event(a, AuditKeyCreate, w.ProjectID, keyRef(k))
		ev.Details = map[string]any{"name": k.Name, "scopes": k.Scopes, "expires_at": k.ExpiresAt}
		if err := q.InsertAuditEvent(ctx, ev); err != nil {
			return err
		}
		out = k
		return nil
	})
	if err != nil {
		return nil, s.finish(ctx, err)
	}
	return out, nil
}

// newKey validates in and builds the key (with its secret and digest). What
// in leaves out is what the actor has: scopes, expiry, IP allowlist and
// rate limit default to the actor's own ceiling, and what in sets must be
// within it.
func (s *Service) newKey(a *Actor, w Where, p *keyward.Project, org *keyward.Org, in keyward.CreateKeyInput, now time.Time) (*keyward.Key, error) {
	c := ceilingFor(a, w, p)
	name, e1 := checkText("name", in.Name, MaxNameLen, false)
	allowed := keyward.OrgScopes
	if p != nil {
		allowed = append(slices.Clone(keyward.ProjectScopes), p.CustomScopes...)
	}
	requested := in.Scopes
	if requested == nil {
		requested = c.scopes
	}
	scopes, e2 := checkScopes(requested, allowed)
	allowlist, e3 := checkAllowlist(in.IPAllowlist)
	metadata, e4 := checkMetadata(in.Metadata)
	expires, e5 := expiry(in, c.expiresAt, org.Settings, now)
	rateLimit, e6 := checkRateLimit(in.RateLimit)
	if err := invalid(e1, e2, e3, e4, e5, e6); err != nil {
		return nil, err
	}
	if len(allowlist) == 0 && len(c.allowlist) > 0 {
		for _, pr := range c.allowlist {
			allowlist = append(allowlist, pr.String())
		}
	}
	if rateLimit == nil && c.rateLimit != nil {
		own := *c.rateLimit
		rateLimit = &own
	}
	k := &keyward.Key{
		ID: keyward.NewID(keyward.PrefixKey), Kind: w.kind(), Name: name,
		ProjectID: w.ProjectID, OrgID: a.OrgID, Scopes: scopes,
		CreatedAt: now, CreatedBy: a.Ref(), ExpiresAt: expires,
		IPAllowlist: allowlist, Metadata: metadata, RateLimit: rateLimit,
		OwnerUserID: ownerFor(a, w.kind()),
	}
	if err := s.withinCeiling(a, c, w, k, AuditKeyCreate, whereRef(a, p), "create"); err != nil {
		return nil, err
	}
	s.issueSecret(k)
	k.Status = k.StatusAt(now)
	return k, nil
}

// whereRef names the project (or, for org keys, the org) that keys are
// made in, for audit events.
func whereRef(a *Actor, p *keyward.Project) keyward.ActorRef {
	if p != nil {
		return keyward.ActorRef{Type: "project", ID: p.ID}
	}
	return keyward.ActorRef{Type: "org", ID: a.OrgID}
}

// issueSecret gives k a fresh secret, its digest and hint.
func (s *Service) issueSecret(k *keyward.Key) {
	prefix := apikey.PrefixProject
	if k.Kind == keyward.KindOrg {
		prefix = apikey.PrefixOrg
	}
	k.Secret = apikey.Generate(prefix)
	k.Digest = s.digest.Digest(k.Secret)
	k.Hint = apikey.Hint(k.Secret)
}

// ownerFor is the owner of a key of kind kind that a creates: the person
// who makes it, or the owner of the key that makes it (so a key made by a
// key is bounded by the same person's roles). Keys made by a key without an
// owner, and project keys made by org keys, belong to nobody and are bounded
// by their scopes alone.
func ownerFor(a *Actor, kind keyward.KeyKind) *string {
	if a.IsUser() {
		id := a.UserID
		return &id
	}
	if a.Key.Kind == kind && a.Key.OwnerUserID != nil {
		id := *a.Key.OwnerUserID
		return &id
	}
	return nil
}

// expiry works out a new key's expiry from expires_at or expires_in and
// checks it against the org's max_key_lifetime.
//
// Without either, a key gets the acting key's own expiry (actor, nil for
// none), cut to the org's max_key_lifetime.
func expiry(in keyward.CreateKeyInput, actor *time.Time, st keyward.Settings, now time.Time) (*time.Time, *keyward.FieldError) {
	var at *time.Time
	switch {
	case in.ExpiresAt == nil && in.ExpiresIn == nil && actor != nil:
		t := *actor
		if st.MaxKeyLifetime != nil {
			t = minTime(t, now.Add(st.MaxKeyLifetime.Std()))
		}
		at = &t
	case in.ExpiresAt != nil && in.ExpiresIn != nil:
		return nil, &keyward.FieldError{Field: "expires_at", Problem: "give expires_at or expires_in, not both"}
	case in.ExpiresAt != nil:
		t := in.ExpiresAt.UTC().Truncate(time.Microsecond)
		at = &t
	case in.ExpiresIn != nil:
		if in.ExpiresIn.Std() > 100*365*24*time.Hour {
			return nil, &keyward.FieldError{Field: "expires_in", Problem: "is too long"}
		}
		t := now.Add(in.ExpiresIn.Std())
		at = &t
	}
	if at != nil && !at.After(now) {
		return nil, &keyward.FieldError{Field: "expires_at", Problem: "must be in the future"}
	}
	if st.MaxKeyLifetime != nil {
		limit := now.Add(st.MaxKeyLifetime.Std())
		if at == nil {
			return nil, &keyward.FieldError{Field: "expires_at", Problem: "is required: keys in this organization must expire within " + st.MaxKeyLifetime.Human()}
		}
		if at.After(limit) {
			return nil, &keyward.FieldError{Field: "expires_at", Problem: "must be within the organization's max_key_lifetime of " + st.MaxKeyLifetime.Human()}
		}
	}
	return at, nil
}

// checkLimits enforces the org's key limits for a key about to be created.
// Only usable (active or expiring) keys count. extra raises every limit:
// rotation with a grace period may go one key over (the old key in its
// grace period).
func (s *Service) checkLimits(ctx context.Context, q keyward.Queries, org *keyward.Org, k *keyward.Key, now time.Time, extra int) error {
	f := keyward.KeyFilter{OrgID: org.ID, Kind: k.Kind, ProjectID: k.ProjectID, Now: now}
	if k.Kind == keyward.KindOrg {
		return limit(ctx, q, f, org.Settings.MaxOrgKeys, extra, "This organization has reached its limit of %d org keys")
	}
	if err := limit(ctx, q, f, org.Settings.MaxKeysPerProject, extra, "This project has reached its limit of %d keys"); err != nil {
		return err
	}
	if k.OwnerUserID != nil {
		f.OwnerUserID = *k.OwnerUserID
		return limit(ctx, q, f, org.Settings.MaxKeysPerUser, extra, "You have reached the limit of %d keys per user in this project")
	}
	return nil
}

// limit refuses the create when the keys f selects have reached max. Only
// "count >= max" matters, so the count stops at max: a project far over a
// lowered limit costs no more to check than one at it. Settings keep every
// limit at 1 or more; a max below 1 is reached without counting (a count
// bound of 0 would mean no bound).
func limit(ctx context.Context, q keyward.Queries, f keyward.KeyFilter, max, extra int, msg string) error {
	n := 0
	if max > 0 {
		f.Limit = max + extra
		var err error
		if n, err = q.CountUsableKeys(ctx, f); err != nil {
			return err
		}
	}
	if n >= max+extra {
		e := keyward.Errorf(keyward.CodeKeyLimitReached, msg, max)
		if extra > 0 {
			e.Message += " and one key in its grace period; rotate with grace_period 0s, or revoke a key first"
		} else {
			e.Message += "; revoking a key frees a slot"
		}
		return e
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func keyRef(k *keyward.Key) keyward.ActorRef {
	return keyward.ActorRef{Type: keyward.ActorKey, ID: k.ID}
}
