package service

import "github.com/keyward/keyward"

// Origin is where a request came from, recorded in audit events.
type Origin struct {
	IP        string
	UserAgent string
	RequestID string
}

// Actor is an authenticated caller: a user acting in one org (dashboard
// session), or a project or org key.
type Actor struct {
	// UserID is set for users.
	UserID string
	// Key is set for key actors: the authenticating key.
	Key *keyward.Key
	// OrgID is the org the actor acts in (a key's own org; the org a user
	// selected).
	OrgID  string
	Origin Origin
	// System names keyward itself acting, for no user and no key (leak
	// reports: "secret-scanning"). Such an actor passes no access check:
	// only the service's own paths make one.
	System string
}

// UserActor returns an actor for a signed-in user acting in org orgID.
func UserActor(userID, orgID string, o Origin) *Actor {
	return &Actor{UserID: userID, OrgID: orgID, Origin: o}
}

// KeyActor returns an actor for an authenticated key.
func KeyActor(k *keyward.Key, o Origin) *Actor {
	return &Actor{Key: k, OrgID: k.OrgID, Origin: o}
}

// IsUser reports whether the actor is a signed-in user.
func (a *Actor) IsUser() bool { return a.Key == nil && a.System == "" }

// IsKind reports whether the actor is a key of the given kind.
func (a *Actor) IsKind(k keyward.KeyKind) bool { return a.Key != nil && a.Key.Kind == k }

// Ref returns how audit events and keys name the actor.
func (a *Actor) Ref() keyward.ActorRef {
	if a.Key != nil {
		return keyward.ActorRef{Type: keyward.ActorKey, ID: a.Key.ID}
	}
	if a.System != "" {
		return keyward.ActorRef{Type: keyward.ActorSystem, ID: a.System}
	}
	return keyward.ActorRef{Type: keyward.ActorUser, ID: a.UserID}
}
