package client

import (
	"context"
	"errors"
	"iter"
	"net/http"

	"github.com/keyward/keyward"
)

// OrgService groups the org endpoints (/v1/org/…), called with the org key.
type OrgService struct{ c *Client }

// Org returns the org endpoints (org key).
func (c *Client) Org() *OrgService { return &OrgService{c: c} }

// Whoami describes the caller's project key (GET /v1/whoami).
func (c *Client) Whoami(ctx context.Context) (*keyward.Whoami, error) {
	var w keyward.Whoami
	if err := c.do(ctx, call{method: http.MethodGet, path: "/v1/whoami", cred: credProject, idempotent: true}, &w); err != nil {
		return nil, err
	}
	return &w, nil
}

// Whoami describes the caller's org key (GET /v1/org/whoami).
func (o *OrgService) Whoami(ctx context.Context) (*keyward.Whoami, error) {
	var w keyward.Whoami
	if err := o.c.do(ctx, call{method: http.MethodGet, path: "/v1/org/whoami", cred: credOrg, idempotent: true}, &w); err != nil {
		return nil, err
	}
	return &w, nil
}

// ProjectKeys returns the keys of one project of the org, with the same
// methods as Client.Keys.
func (o *OrgService) ProjectKeys(projectID string) *KeysService {
	s := &KeysService{c: o.c, base: "/v1/org/projects/" + escape(projectID) + "/keys", cred: credOrg}
	if projectID == "" {
		s.err = errors.Join(ErrEmptyID, errors.New("keyward: ProjectKeys needs a project id"))
	}
	return s
}

// OrgKeysService manages the org's own keys (kwo_…), with the same methods
// as KeysService.
type OrgKeysService struct{ keys KeysService }

// Keys returns the org's own keys.
func (o *OrgService) Keys() *OrgKeysService {
	return &OrgKeysService{keys: KeysService{c: o.c, base: "/v1/org/keys", cred: credOrg}}
}

// List returns one page of org keys, newest first.
func (s *OrgKeysService) List(ctx context.Context, p ListKeysParams) (*keyward.Page[keyward.Key], error) {
	return s.keys.List(ctx, p)
}

// All iterates over every org key that p selects.
func (s *OrgKeysService) All(ctx context.Context, p ListKeysParams) iter.Seq2[keyward.Key, error] {
	return s.keys.All(ctx, p)
}

// Create creates an org key; the answer's Secret is shown only once.
func (s *OrgKeysService) Create(ctx context.Context, in keyward.CreateKeyInput) (*keyward.Key, error) {
	return s.keys.Create(ctx, in)
}

// Get returns one org key.
func (s *OrgKeysService) Get(ctx context.Context, id string) (*keyward.Key, error) {
	return s.keys.Get(ctx, id)
}

// Update renames an org key or changes its metadata, IP allowlist or
// (only narrowing) scopes.
func (s *OrgKeysService) Update(ctx context.Context, id string, patch keyward.KeyPatch) (*keyward.Key, error) {
	return s.keys.Update(ctx, id, patch)
}

// Rotate replaces an org key and returns the new one, with its Secret.
func (s *OrgKeysService) Rotate(ctx context.Context, id string, in keyward.RotateInput) (*keyward.Key, error) {
	return s.keys.Rotate(ctx, id, in)
}

// Revoke revokes an org key for good (idempotent).
func (s *OrgKeysService) Revoke(ctx context.Context, id string, in keyward.RevokeInput) (*keyward.Key, error) {
	return s.keys.Revoke(ctx, id, in)
}

// Delete revokes an org key, like Revoke without a reason.
func (s *OrgKeysService) Delete(ctx context.Context, id string) (*keyward.Key, error) {
	return s.keys.Delete(ctx, id)
}

// Verify checks a key of any project of the org (POST /v1/org/verify).
func (o *OrgService) Verify(ctx context.Context, in keyward.VerifyInput) (*keyward.VerifyResult, error) {
	a, err := o.c.verify(ctx, "/v1/org/verify", credOrg, in)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Verify checks a key that a backend received from its own client, against
// the caller's project (POST /v1/verify). A key that is not valid is not an
// error: the result's Valid is false and its Code says why.
func (c *Client) Verify(ctx context.Context, in keyward.VerifyInput) (*keyward.VerifyResult, error) {
	a, err := c.verify(ctx, "/v1/verify", credProject, in)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// verifyAnswer is a verify answer; its RateLimit, the verified key's
// window, is what the middleware passes on as X-RateLimit-* and
// Retry-After.
type verifyAnswer = keyward.VerifyResult

// verify is not retried: only GET, DELETE and revoke are (a middleware
// that fails closed answers 503 at once instead of holding its caller).
func (c *Client) verify(ctx context.Context, path string, cred credential, in keyward.VerifyInput) (*verifyAnswer, error) {
	var r verifyAnswer
	if err := c.do(ctx, call{method: http.MethodPost, path: path, body: in, cred: cred}, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
