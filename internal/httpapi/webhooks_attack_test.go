package httpapi_test

import (
	"strings"
	"testing"

	"github.com/keyward/keyward"
)

// TestAttackAuditLogShowsReceiverTokenWithoutWebhooksScope: the docs tell
// receivers to put a token of their own in the URL's query, and reading an
// endpoint's URL takes webhooks:read. The audit log's webhook.create and
// webhook.update events record the whole URL, so an org key with only
// audit:read, which may not read endpoints, reads the receiver's token.
func TestAttackAuditLogShowsReceiverTokenWithoutWebhooksScope(t *testing.T) {
	s := newSetup(t)
	const created, changed = "rcv-token-created-7f3a9c", "rcv-token-changed-41b2e8"
	ep := createWebhook(t, s, "https://hooks.example.com/keyward?token="+created, keyward.EventKeyLeaked)
	s.ok(t, "PATCH", "/v1/org/webhooks/"+ep.ID, map[string]any{"url": "https://hooks.example.com/keyward?token=" + changed}).want(t, 200)

	var auditor keyward.Key
	s.ok(t, "POST", "/v1/org/keys", map[string]any{"name": "auditor", "scopes": []string{keyward.ScopeAuditRead}}).want(t, 201).decode(t, &auditor)
	withOrgKey(t, s, auditor.Secret, "GET", "/v1/org/webhooks/"+ep.ID, nil).wantError(t, 403, keyward.CodePermissionDenied)

	body := string(withOrgKey(t, s, auditor.Secret, "GET", "/v1/org/audit-events?action=webhook.", nil).want(t, 200).Body)
	if !strings.Contains(body, ep.ID) {
		t.Fatalf("the audit log does not show endpoint %s's changes", ep.ID)
	}
	for name, token := range map[string]string{"created": created, "changed": changed} {
		if strings.Contains(body, token) {
			t.Errorf("an audit:read org key reads the receiver token the endpoint was %s with, from the audit log", name)
		}
	}
}
