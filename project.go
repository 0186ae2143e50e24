package keyward

import "time"

// Project is a tenant boundary inside an org: every project key belongs to
// exactly one project and nothing crosses projects.
type Project struct {
	ID           string    `json:"id"`
	OrgID        string    `json:"org_id"`
	Name         string    `json:"name"`
	Slug         string    `json:"slug"`
	CustomScopes []string  `json:"custom_scopes"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// CreateProjectInput is the body of POST /v1/org/projects. Slug defaults to
// one made from the name.
type CreateProjectInput struct {
	Name         string   `json:"name"`
	Slug         string   `json:"slug,omitempty"`
	CustomScopes []string `json:"custom_scopes,omitempty"`
}

// ProjectPatch is the body of PATCH /v1/org/projects/{id}.
type ProjectPatch struct {
	Name         *string   `json:"name,omitempty"`
	Slug         *string   `json:"slug,omitempty"`
	CustomScopes *[]string `json:"custom_scopes,omitempty"`
}
