package client

import (
	"context"
	"iter"
	"net/http"

	"github.com/keyward/keyward"
)

// ListKeysParams selects keys to list. Status is "active" (the default
// when empty: active and expiring keys), "revoked", "expired" or "all".
type ListKeysParams struct {
	Status string
	Limit  int
	Cursor string
}

// KeysService manages project keys: the caller's own project (Client.Keys,
// with the project key) or any project of the org (OrgService.ProjectKeys,
// with the org key).
type KeysService struct {
	c    *Client
	base string // "/v1/keys" or "/v1/org/projects/{id}/keys"
	cred credential
	err  error // returned by every call (an empty project id)
}

// Keys returns the keys of the caller's project (project key).
func (c *Client) Keys() *KeysService {
	return &KeysService{c: c, base: "/v1/keys", cred: credProject}
}

// List returns one page of keys, newest first.
func (s *KeysService) List(ctx context.Context, p ListKeysParams) (*keyward.Page[keyward.Key], error) {
	if s.err != nil {
		return nil, s.err
	}
	q := ListParams{Limit: p.Limit, Cursor: p.Cursor}.values()
	if p.Status != "" {
		q.Set("status", p.Status)
	}
	var page keyward.Page[keyward.Key]
	err := s.c.do(ctx, call{method: http.MethodGet, path: s.base, query: q, cred: s.cred, idempotent: true}, &page)
	if err != nil {
		return nil, err
	}
	return &page, nil
}

// All iterates over every key that p selects, from p.Cursor on, fetching
// pages of p.Limit as it goes.
func (s *KeysService) All(ctx context.Context, p ListKeysParams) iter.Seq2[keyward.Key, error] {
	return all(ctx, p.Cursor, func(ctx context.Context, cursor string) (*keyward.Page[keyward.Key], error) {
		p.Cursor = cursor
		return s.List(ctx, p)
	})
}

// Create creates a key. The answer's Secret is the key itself, shown only
// in this response. Create is never retried.
func (s *KeysService) Create(ctx context.Context, in keyward.CreateKeyInput) (*keyward.Key, error) {
	return s.send(ctx, http.MethodPost, "", "", in, false)
}

// Get returns one key.
func (s *KeysService) Get(ctx context.Context, id string) (*keyward.Key, error) {
	return s.send(ctx, http.MethodGet, id, "", nil, true)
}

// Update renames a key or changes its metadata, IP allowlist or (only
// narrowing) scopes.
func (s *KeysService) Update(ctx context.Context, id string, patch keyward.KeyPatch) (*keyward.Key, error) {
	return s.send(ctx, http.MethodPatch, id, "", patch, false)
}

// Rotate replaces a key and returns the new key, with its Secret. The old
// key is revoked now, or at the end of in.GracePeriod. Rotate is never
// retried.
func (s *KeysService) Rotate(ctx context.Context, id string, in keyward.RotateInput) (*keyward.Key, error) {
	return s.send(ctx, http.MethodPost, id, "/rotate", in, false)
}

// Revoke revokes a key for good and returns it. Revoking a revoked key
// succeeds and changes nothing, so Revoke is retried like a read.
func (s *KeysService) Revoke(ctx context.Context, id string, in keyward.RevokeInput) (*keyward.Key, error) {
	return s.send(ctx, http.MethodPost, id, "/revoke", in, true)
}

// Delete revokes a key, like Revoke without a reason (DELETE …/keys/{id}).
func (s *KeysService) Delete(ctx context.Context, id string) (*keyward.Key, error) {
	return s.send(ctx, http.MethodDelete, id, "", nil, true)
}

// send calls base[/id][suffix] and decodes a key.
func (s *KeysService) send(ctx context.Context, method, id, suffix string, body any, idempotent bool) (*keyward.Key, error) {
	if s.err != nil {
		return nil, s.err
	}
	path := s.base
	if method != http.MethodPost || suffix != "" {
		if id == "" {
			return nil, ErrEmptyID
		}
		path += "/" + escape(id) + suffix
	}
	var k keyward.Key
	err := s.c.do(ctx, call{method: method, path: path, body: body, cred: s.cred, idempotent: idempotent}, &k)
	if err != nil {
		return nil, err
	}
	return &k, nil
}
