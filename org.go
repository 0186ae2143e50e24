package keyward

import "time"

// Org is an organization: it owns projects, members, org keys, settings and
// the audit log.
type Org struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Slug      string    `json:"slug"`
	Settings  Settings  `json:"settings"`
	CreatedAt time.Time `json:"created_at"`
}

// Settings are an org's limits and policies (docs/authority.md, Limits).
type Settings struct {
	MaxKeysPerUser    int       `json:"max_keys_per_user"`
	MaxKeysPerProject int       `json:"max_keys_per_project"`
	MaxOrgKeys        int       `json:"max_org_keys"`
	MaxKeyLifetime    *Duration `json:"max_key_lifetime"`
	RotationMaxGrace  Duration  `json:"rotation_max_grace"`
	// LeakPolicy is what happens to a live key reported leaked
	// (docs/leaks.md): LeakRevoke (the default) or LeakFlag.
	LeakPolicy string `json:"leak_policy"`
}

// LeakAction is the org's leak policy, LeakRevoke when not set (orgs made
// before the setting existed).
func (s Settings) LeakAction() string {
	if s.LeakPolicy == LeakFlag {
		return LeakFlag
	}
	return LeakRevoke
}

// DefaultSettings are the settings of a new org.
func DefaultSettings() Settings {
	return Settings{
		MaxKeysPerUser:    3,
		MaxKeysPerProject: 100,
		MaxOrgKeys:        10,
		RotationMaxGrace:  Duration(168 * time.Hour),
		LeakPolicy:        LeakRevoke,
	}
}

// SettingsPatch changes some settings; nil fields stay as they are. To clear
// max_key_lifetime send "max_key_lifetime": null (the API's rule for every
// PATCH) or, the same, "clear_max_key_lifetime": true.
type SettingsPatch struct {
	MaxKeysPerUser      *int      `json:"max_keys_per_user,omitempty"`
	MaxKeysPerProject   *int      `json:"max_keys_per_project,omitempty"`
	MaxOrgKeys          *int      `json:"max_org_keys,omitempty"`
	MaxKeyLifetime      *Duration `json:"max_key_lifetime,omitempty"`
	ClearMaxKeyLifetime bool      `json:"clear_max_key_lifetime,omitempty"`
	RotationMaxGrace    *Duration `json:"rotation_max_grace,omitempty"`
	LeakPolicy          *string   `json:"leak_policy,omitempty"` // revoke or flag
}

// OrgRole is a member's role in an org.
type OrgRole string

// Org roles, most powerful first.
const (
	OrgOwner  OrgRole = "owner"
	OrgAdmin  OrgRole = "admin"
	OrgMember OrgRole = "member"
)

// Valid reports whether r is a known org role.
func (r OrgRole) Valid() bool { return r == OrgOwner || r == OrgAdmin || r == OrgMember }

// ProjectRole is a member's role in one project.
type ProjectRole string

// Project roles, most powerful first.
const (
	ProjectAdmin     ProjectRole = "admin"
	ProjectDeveloper ProjectRole = "developer"
	ProjectViewer    ProjectRole = "viewer"
)

// Valid reports whether r is a known project role.
func (r ProjectRole) Valid() bool {
	return r == ProjectAdmin || r == ProjectDeveloper || r == ProjectViewer
}

// User is a person who signs in to the dashboard.
type User struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
}

// Member is a user's membership of an org, with the user's email and name
// filled in on reads.
type Member struct {
	OrgID     string    `json:"org_id"`
	UserID    string    `json:"user_id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      OrgRole   `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	// Projects lists the member's project roles (filled in by the service).
	Projects []ProjectMember `json:"projects"`
	// Status is "pending" when adding an existing account made an
	// invitation instead of a membership (POST /v1/org/members answers 202);
	// empty for members.
	Status string `json:"status,omitempty"`
	// Invitation is the invitation that adding the member made, with its
	// one-time link; set only in the answer to the add.
	Invitation *Invitation `json:"invitation,omitempty"`
}

// ProjectMember is a user's role in one project.
type ProjectMember struct {
	ProjectID string      `json:"project_id"`
	UserID    string      `json:"user_id"`
	Role      ProjectRole `json:"role"`
}

// AddMemberInput adds a user to an org by email; the user is created when
// none has that email yet.
type AddMemberInput struct {
	Email    string          `json:"email"`
	Name     string          `json:"name,omitempty"`
	Role     OrgRole         `json:"role"`
	Projects []ProjectMember `json:"projects,omitempty"`
}

// MemberPatch changes a member's org role and project roles. A project role
// of "" removes the member from that project (their keys there are handled
// as KeyHandling says).
type MemberPatch struct {
	Role        *OrgRole        `json:"role,omitempty"`
	Projects    []ProjectMember `json:"projects,omitempty"`
	KeyHandling KeyHandling     `json:"key_handling,omitempty"`
	TransferTo  string          `json:"transfer_to,omitempty"`
}

// KeyHandling says what happens to a removed member's keys (docs/authority.md).
type KeyHandling string

// Key handling choices; revoke is the default.
const (
	KeysRevoke   KeyHandling = "revoke"
	KeysTransfer KeyHandling = "transfer"
)

// RemoveMemberInput says how to remove a member: their keys are revoked
// (default) or transferred to TransferTo (default: the acting user).
type RemoveMemberInput struct {
	KeyHandling KeyHandling `json:"key_handling,omitempty"`
	TransferTo  string      `json:"transfer_to,omitempty"`
}
