package service

import (
	"context"
	"net/netip"
	"slices"
	"time"

	"github.com/keyward/keyward"
)

// This file decides what a key may do, and what the most is that an actor
// may give a key it makes or changes. docs/authority.md states the same
// rules in plain words; the two must agree.
//
//   - A key never outranks its owner: what a key may do is its scopes,
//     narrowed to what its owner's current roles allow (ownerAllows). A key
//     without an owner is bounded by its scopes alone.
//   - A key only makes or changes keys weaker than itself, on every axis
//     (ceiling): scopes, expiry, IP allowlist and rate limit.
//   - A key replaced by rotation manages no key but itself.

// viewerScopes are the scopes a project viewer's role allows a key: reading
// keys and the audit log.
var viewerScopes = []string{keyward.ScopeKeysRead, keyward.ScopeAuditRead}

// ownerAllows reports what k's owner's current roles allow a key of k's
// kind: allow(scope) for each scope, and ok false when the owner holds no
// role that allows such a key at all (no longer a member, no role in the
// project, or not an org admin for an org key). Keys without an owner are
// allowed every scope.
func (s *Service) ownerAllows(ctx context.Context, q keyward.Queries, k *keyward.Key) (allow func(string) bool, ok bool, err error) {
	all := func(string) bool { return true }
	if k.OwnerUserID == nil {
		return all, true, nil
	}
	owner := UserActor(*k.OwnerUserID, k.OrgID, Origin{})
	if k.Kind == keyward.KindOrg {
		role, err := s.orgRole(ctx, q, owner)
		if err != nil {
			return nil, false, err
		}
		return all, orgRank(role) >= orgRank(orgRoleMin[actOrgKeysWrite]), nil
	}
	role, err := s.projectRole(ctx, q, owner, k.ProjectID)
	switch {
	case err != nil:
		return nil, false, err
	case role == "":
		return nil, false, nil
	case projectRank(role) >= projectRank(projectRoleMin[actKeysWrite]):
		return all, true, nil
	}
	return func(sc string) bool { return slices.Contains(viewerScopes, sc) }, true, nil
}

// narrowToOwner sets k's Scopes to what k may do now (its scopes that its
// owner's roles allow) and NoAccess when its owner may hold no such key. k
// must be the caller's own copy.
func (s *Service) narrowToOwner(ctx context.Context, q keyward.Queries, k *keyward.Key) error {
	allow, ok, err := s.ownerAllows(ctx, q, k)
	if err != nil {
		return err
	}
	k.NoAccess = !ok
	if !ok {
		k.Scopes = []string{}
		return nil
	}
	k.Scopes = slices.DeleteFunc(slices.Clone(k.Scopes), func(sc string) bool { return !allow(sc) })
	return nil
}

var errOwnerNoAccess = keyward.Denied("This key's owner no longer has a role that allows this key")

// refresh replaces a key actor's key with the key as the store holds it now
// and narrows it to its owner's current roles, so that a decision about a
// change never rests on a cached key (another node's cache may not have
// heard of a revoke, a rotation or a demotion yet). Users are left as they
// are: their roles are read where they are needed.
func (s *Service) refresh(ctx context.Context, q keyward.Queries, a *Actor) error {
	if a.Key == nil {
		return nil
	}
	k, err := q.GetKey(ctx, a.Key.ID)
	if keyward.ErrorCode(err) == keyward.CodeNotFound {
		return errInvalidKey
	}
	if err != nil {
		return err
	}
	switch k.StatusAt(s.clock.Now()) {
	case keyward.StatusRevoked:
		return errInvalidKey
	case keyward.StatusExpired:
		return errExpiredKey
	}
	if err := s.narrowToOwner(ctx, q, k); err != nil {
		return err
	}
	if k.NoAccess {
		return errOwnerNoAccess
	}
	a.Key = k
	return nil
}

// ceiling is the most an actor may give a key it creates, or leave on a key
// it changes: a key within the ceiling is no stronger than the actor on any
// axis. Zero fields are no bound.
type ceiling struct {
	scopes    []string           // the scopes it may grant
	expiresAt *time.Time         // keys must expire no later
	allowlist []netip.Prefix     // keys must be limited to addresses inside these
	rateLimit *keyward.RateLimit // keys must be limited at least as tightly
}

// ceilingFor answers "what is the most actor a may grant" to the keys w
// names (p is the project for project keys). For people it is what their
// role allows (the access checks have already established the role); for
// keys, the key itself as it is now.
func ceilingFor(a *Actor, w Where, p *keyward.Project) ceiling {
	all := keyward.OrgScopes
	if p != nil {
		all = append(slices.Clone(keyward.ProjectScopes), p.CustomScopes...)
	}
	if a.IsUser() {
		return ceiling{scopes: all}
	}
	k := a.Key
	c := ceiling{expiresAt: k.ExpiresAt, rateLimit: k.RateLimit}
	for _, s := range k.IPAllowlist {
		if pr, err := netip.ParsePrefix(s); err == nil {
			c.allowlist = append(c.allowlist, pr)
		}
	}
	if len(k.IPAllowlist) > 0 && len(c.allowlist) == 0 {
		// An allowlist that no longer parses admits no address: nothing
		// made under it may be looser. A prefix of no address does that.
		c.allowlist = []netip.Prefix{netip.PrefixFrom(netip.IPv6Unspecified(), 128)}
	}
	switch {
	case k.Kind == keyward.KindOrg && w.kind() == keyward.KindProject:
		// An org key administers the project's keys: it grants the
		// built-in scopes it holds itself, and the project's own scopes,
		// which belong to the project it may manage.
		for _, sc := range keyward.ProjectScopes {
			if k.HasScope(sc) {
				c.scopes = append(c.scopes, sc)
			}
		}
		if p != nil {
			c.scopes = append(c.scopes, p.CustomScopes...)
		}
	default:
		c.scopes = slices.DeleteFunc(slices.Clone(k.Scopes), func(sc string) bool { return !slices.Contains(all, sc) })
	}
	return c
}

// admits reports whether key k is within the ceiling; if not, it names the
// first axis on which k is stronger, in words for the error message.
func (c ceiling) admits(k *keyward.Key) (ok bool, why string) {
	for _, sc := range k.Scopes {
		if !slices.Contains(c.scopes, sc) {
			return false, "the scope " + quoteSafe(sc) + ", which the acting key does not hold"
		}
	}
	if c.expiresAt != nil && (k.ExpiresAt == nil || k.ExpiresAt.After(*c.expiresAt)) {
		return false, "an expiry later than the acting key's own (" + c.expiresAt.UTC().Format(time.RFC3339) + ")"
	}
	if len(c.allowlist) > 0 {
		if len(k.IPAllowlist) == 0 {
			return false, "no IP allowlist, while the acting key has one"
		}
		for _, s := range k.IPAllowlist {
			if !insideAny(s, c.allowlist) {
				return false, "the IP range " + quoteSafe(s) + ", outside the acting key's IP allowlist"
			}
		}
	}
	if c.rateLimit != nil && looser(k.RateLimit, c.rateLimit) {
		return false, "a looser rate limit than the acting key's own"
	}
	return true, ""
}

// insideAny reports whether the prefix s lies wholly inside one of outer.
func insideAny(s string, outer []netip.Prefix) bool {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return false
	}
	for _, o := range outer {
		if o.Bits() <= p.Bits() && o.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// looser reports whether rate limit rl lets through more than own: no limit
// at all, a larger burst (more requests in one window), or a higher average
// rate. Either alone would let a key made under own send more than own.
func looser(rl, own *keyward.RateLimit) bool {
	if rl == nil {
		return true
	}
	if rl.Limit > own.Limit {
		return true
	}
	// rl.Limit/rl.Window > own.Limit/own.Window, without division.
	return float64(rl.Limit)*own.Window.Std().Seconds() > float64(own.Limit)*rl.Window.Std().Seconds()
}

// withinCeiling refuses, as an audited denial, a key that is stronger than
// what actor a may grant. doing names the attempt for the message ("create",
// "leave").
func (s *Service) withinCeiling(a *Actor, c ceiling, w Where, k *keyward.Key, auditAction string, target keyward.ActorRef, doing string) error {
	if ok, why := c.admits(k); !ok {
		return s.denied(a, auditAction, w.ProjectID, target, "A key cannot "+doing+" a key with "+why)
	}
	return nil
}

// rotatedOutMsg refuses key management to a key replaced by rotation.
const rotatedOutMsg = "This key has been replaced by rotation: until its grace period ends it still authenticates and may revoke itself, but it changes nothing else"

// rotatedOut reports whether a is a key replaced by rotation (inside its
// grace period): such a key manages no key but itself.
func rotatedOut(a *Actor) bool { return a.Key != nil && a.Key.ReplacedBy != nil }

// roleScopes is what a person in the given roles may do, as the scopes a
// key would need for it: an org admin (or owner) everything an org key can
// hold; a project developer every built-in project scope, and a project
// admin also members:write and projects:write (project members and
// settings); a viewer reading. An org member without project roles may do
// nothing.
func roleScopes(role keyward.OrgRole, prs []keyward.ProjectMember) []string {
	if role == keyward.OrgOwner || role == keyward.OrgAdmin {
		return keyward.OrgScopes
	}
	var out []string
	for _, pr := range prs {
		switch pr.Role {
		case keyward.ProjectAdmin:
			// A project admin also manages the project's members and
			// settings (its custom scopes).
			out = append(out, keyward.ProjectScopes...)
			out = append(out, keyward.ScopeMembersWrite, keyward.ScopeProjectsWrite)
		case keyward.ProjectDeveloper:
			out = append(out, keyward.ProjectScopes...)
		case keyward.ProjectViewer:
			out = append(out, viewerScopes...)
		}
	}
	return out
}

// mayGrant answers "may a give a person these roles": a key never gives a
// person more than it may do itself. The roles must need no scope the key
// lacks, and a key bounded in time, place or rate (an expiry, an IP
// allowlist or a rate limit) gives no role that allows anything, since a
// person is bounded by none of these. People are bounded by their own
// roles, which the access checks already decide.
func (s *Service) mayGrant(a *Actor, role keyward.OrgRole, prs []keyward.ProjectMember, auditAction string, target keyward.ActorRef) error {
	if a.IsUser() {
		return nil
	}
	need := roleScopes(role, prs)
	if len(need) == 0 {
		return nil
	}
	k := a.Key
	if k.ExpiresAt != nil || len(k.IPAllowlist) > 0 || k.RateLimit != nil {
		return s.denied(a, auditAction, "", target, "A key with an expiry, an IP allowlist or a rate limit cannot give a person a role that allows anything: the person would not be bound by them")
	}
	for _, sc := range need {
		if !k.HasScope(sc) {
			return s.denied(a, auditAction, "", target, "A key cannot give a person a role that allows more than the key may do itself (the role needs "+quoteSafe(sc)+")")
		}
	}
	return nil
}
