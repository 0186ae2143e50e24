package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/keyward/keyward"
)

// CheckVerify asks keyward once (GET /v1/whoami) whether the client's
// project key can verify keys, so that a service finds a missing or wrong
// key when it starts instead of answering 503 to every request:
//
//	if err := c.CheckVerify(ctx); err != nil {
//		log.Fatal(err) // names KEYWARD_API_KEY or the keys:verify scope
//	}
//
// The error names the environment variable (or option) the key came from
// when there is no key or keyward refuses it, and the keys:verify scope
// when the key lacks it. It is also an error when keyward cannot be
// reached (after the usual retries); a service that may start before
// keyward can call it again. LocalCache.Start calls it for you.
func (c *Client) CheckVerify(ctx context.Context) error {
	return c.checkVerify(ctx, credProject)
}

// CheckVerify is Client.CheckVerify for the org key (GET /v1/org/whoami),
// for services that verify with WithOrgVerify or an Org LocalCache.
func (o *OrgService) CheckVerify(ctx context.Context) error {
	return o.c.checkVerify(ctx, credOrg)
}

func (c *Client) checkVerify(ctx context.Context, cred credential) error {
	what, from := "project API key", c.apiKeyFrom
	whoami := c.Whoami
	if cred == credOrg {
		what, from = "org API key", c.orgAPIKeyFrom
		whoami = c.Org().Whoami
	}
	if _, _, err := c.credential(cred); err != nil {
		return err // ErrNoAPIKey or ErrNoOrgAPIKey: they name the variable
	}
	w, err := whoami(ctx)
	if err != nil {
		var e *keyward.Error
		if errors.As(err, &e) && (e.Status == http.StatusUnauthorized || e.Code == keyward.CodePermissionDenied) {
			return fmt.Errorf("keyward: the %s from %s does not work: %w", what, from, err)
		}
		return fmt.Errorf("keyward: cannot check the %s from %s with keyward at %s: %w", what, from, c.BaseURL(), err)
	}
	if !slices.Contains(w.Scopes, keyward.ScopeKeysVerify) {
		return fmt.Errorf("keyward: the %s from %s (%s) lacks the %s scope, which verifying keys needs; use a key that has it (keyward keys create --scopes %s)",
			what, from, w.KeyID, keyward.ScopeKeysVerify, keyward.ScopeKeysVerify)
	}
	return nil
}
