package keyward

import "time"

// PrefixInvitation is the prefix of invitation ids.
const PrefixInvitation = "inv"

// Invitation asks a person to join an org with a role and project roles.
// An account belongs to its person: adding an existing account to another
// org makes an invitation that the person accepts, signed in. Only the
// digest of its link's token is stored.
type Invitation struct {
	ID        string          `json:"id"`
	OrgID     string          `json:"org_id"`
	UserID    string          `json:"user_id"`
	Email     string          `json:"email"`
	Role      OrgRole         `json:"role"`
	Projects  []ProjectMember `json:"projects"`
	Digest    []byte          `json:"-"`
	CreatedBy string          `json:"created_by"` // the actor id (user or org key) that invited
	CreatedAt time.Time       `json:"created_at"`
	ExpiresAt time.Time       `json:"expires_at"`
	// AcceptedAt and RevokedAt are nil while the invitation is pending.
	AcceptedAt *time.Time `json:"accepted_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	// URL is the one-time link, set only in the answer that made the
	// invitation; it is never stored and never shown again.
	URL string `json:"url,omitempty"`
}

// Pending reports whether the invitation can still be accepted at now.
func (inv *Invitation) Pending(now time.Time) bool {
	return inv.AcceptedAt == nil && inv.RevokedAt == nil && now.Before(inv.ExpiresAt)
}
