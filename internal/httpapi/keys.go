package httpapi

import (
	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

// keyRoutes are the key operations under prefix; where says which keys
// (the caller's project, a project named in the path, or org keys).
func (a *API) keyRoutes(prefix string, auth authKind, where func(*call) service.Where) []route {
	one := prefix + "/{id}"
	noun, id := "project key", "Key" // operationIds: listKeys, createKey, …
	switch {
	case auth == authOrg && prefix == "/v1/org/keys":
		noun, id = "org key", "OrgKey"
	case auth == authOrg:
		id = "ProjectKey"
	}
	return []route{
		{Method: "GET", Path: prefix, ID: "list" + id + "s", Tag: tagKeys, Summary: "List " + noun + "s, newest first: q searches names and hints; status (active, expiring, expired, revoked or all; default active and expiring), owner (a user id) and scope filter; sort is oldest, used or used_least; cursor is a page's next_cursor or prev_cursor", Auth: auth, Query: keyListQuery, Out: keyward.Page[keyward.Key]{}, Status: 200,
			Handle: func(c *call) (any, error) {
				q, err := keyListQueryOf(c.r)
				if err != nil {
					return nil, err
				}
				page, err := a.svc.ListKeys(c.r.Context(), c.actor, where(c), q)
				return page, keyListParams(err)
			}},
		{Method: "POST", Path: prefix, ID: "create" + id, Tag: tagKeys, Errors: []int{409}, Summary: "Create a " + noun + " (the secret is shown once); scopes, expiry, IP allowlist and rate limit left out are the maker's own, and none may exceed it", Auth: auth, In: keyward.CreateKeyInput{}, Out: keyward.Key{}, Status: 201,
			Handle: func(c *call) (any, error) {
				var in keyward.CreateKeyInput
				if err := decode(c.r, &in, false); err != nil {
					return nil, err
				}
				return a.svc.CreateKey(c.r.Context(), c.actor, where(c), in)
			}},
		{Method: "GET", Path: one, ID: "get" + id, Tag: tagKeys, Summary: "Get a " + noun, Auth: auth, Out: keyward.Key{}, Status: 200,
			Handle: func(c *call) (any, error) {
				return a.svc.GetKey(c.r.Context(), c.actor, where(c), c.r.PathValue("id"))
			}},
		{Method: "GET", Path: one + "/usage", ID: "get" + id + "Usage", Tag: tagUsage, Errors: []int{404}, Summary: "A " + noun + "'s requests by outcome over time: granularity is minute (the last 24 hours), hour or day; since and until are RFC 3339 times (default: the last hour, day or 30 days)", Auth: auth, Query: usageQuery, Out: keyward.KeyUsage{}, Status: 200,
			Handle: func(c *call) (any, error) {
				q, err := usageQueryOf(c.r)
				if err != nil {
					return nil, err
				}
				return a.svc.KeyUsage(c.r.Context(), c.actor, where(c), c.r.PathValue("id"), q)
			}},
		{Method: "PATCH", Path: one, ID: "update" + id, Tag: tagKeys, Errors: []int{409}, Summary: "Rename a " + noun + ", change its metadata, allowlist or rate limit, or narrow its scopes (a key changes only keys no stronger than itself, into keys no stronger)" + nullRule(keyPatchClears), Auth: auth, In: keyward.KeyPatch{}, Out: keyward.Key{}, Status: 200,
			Handle: func(c *call) (any, error) {
				var in keyward.KeyPatch
				if err := decodePatch(c.r, &in, keyPatchClears); err != nil {
					return nil, err
				}
				return a.svc.UpdateKey(c.r.Context(), c.actor, where(c), c.r.PathValue("id"), in)
			}},
		{Method: "POST", Path: one + "/rotate", ID: "rotate" + id, Tag: tagKeys, Errors: []int{409}, Summary: "Replace a " + noun + " with a new one (the secret is shown once); the old key, in its grace period, manages no other key", Auth: auth, In: keyward.RotateInput{}, Out: keyward.Key{}, Status: 201,
			Handle: func(c *call) (any, error) {
				var in keyward.RotateInput
				if err := decode(c.r, &in, true); err != nil {
					return nil, err
				}
				return a.svc.RotateKey(c.r.Context(), c.actor, where(c), c.r.PathValue("id"), in)
			}},
		{Method: "POST", Path: one + "/revoke", ID: "revoke" + id, Tag: tagKeys, Summary: "Revoke a " + noun + " for good", Auth: auth, In: keyward.RevokeInput{}, Out: keyward.Key{}, Status: 200,
			Handle: func(c *call) (any, error) {
				var in keyward.RevokeInput
				if err := decode(c.r, &in, true); err != nil {
					return nil, err
				}
				return a.svc.RevokeKey(c.r.Context(), c.actor, where(c), c.r.PathValue("id"), in)
			}},
		{Method: "DELETE", Path: one, ID: "delete" + id, Tag: tagKeys, Summary: "Revoke a " + noun + " (same as POST …/revoke)", Auth: auth, Out: keyward.Key{}, Status: 200,
			Handle: func(c *call) (any, error) {
				return a.svc.RevokeKey(c.r.Context(), c.actor, where(c), c.r.PathValue("id"), keyward.RevokeInput{})
			}},
	}
}
