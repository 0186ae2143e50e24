package httpapi

import (
	"reflect"
	"slices"
	"strconv"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/outbox"
	"github.com/keyward/keyward/internal/service"
)

// What the OpenAPI document states beyond the Go types: the bounds the
// service checks, the values a string can take, the parameters and
// headers. Each number and pattern is the constant the check itself uses.

// enums are the values of the string types that have a fixed set.
var enums = map[reflect.Type][]any{
	reflect.TypeFor[keyward.KeyKind]():     strs(keyward.KindProject, keyward.KindOrg),
	reflect.TypeFor[keyward.KeyStatus]():   strs(keyward.StatusActive, keyward.StatusExpiring, keyward.StatusExpired, keyward.StatusRevoked),
	reflect.TypeFor[keyward.OrgRole]():     strs(keyward.OrgOwner, keyward.OrgAdmin, keyward.OrgMember),
	reflect.TypeFor[keyward.ProjectRole](): strs(keyward.ProjectAdmin, keyward.ProjectDeveloper, keyward.ProjectViewer),
	reflect.TypeFor[keyward.KeyHandling](): strs(keyward.KeysRevoke, keyward.KeysTransfer),
}

// strs lists string values for an enum.
func strs[T ~string](values ...T) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// memberRule refines the schema of one member of a component.
type memberRule struct {
	schema obj // merged into the member's schema (into its items, values or names where it says so)
	// optional: not required, though the Go type has no omitempty.
	optional bool
	// as names the component that the member's struct elements are
	// described as: an input's own variant of an output's type.
	as string
	// whole is the member's schema, instead of its type's.
	whole obj
}

// Patterns of text.
const (
	// noControl refuses control characters (C0, DEL and C1), as
	// unicode.IsControl does.
	noControl = `^[^\x00-\x1F\x7F-\x9F]*$`
	noNUL     = `^[^\x00]*$`
	// rfc3339 is the shape of the times timeParam reads (as a pattern:
	// not every tool asserts "format": "date-time").
	rfc3339 = `^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.,][0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})$`
)

// text is a string of at most max characters without control
// characters; required ones are not empty. Surrounding white space is
// trimmed first, and a required one must have more than white space.
func text(max int, required bool) obj {
	s := obj{"maxLength": max, "pattern": noControl}
	if required {
		s["minLength"] = 1
	}
	return s
}

var (
	scopeList = obj{"maxItems": service.MaxScopes, "items": obj{"pattern": keyward.ScopePattern}}
	allowlist = obj{"maxItems": service.MaxAllowlist, "items": obj{"description": "An IPv4 or IPv6 address, or a CIDR range."}}
	metadata  = obj{
		"maxProperties":        service.MaxMetadataKeys,
		"propertyNames":        obj{"minLength": 1, "maxLength": service.MaxMetaKeyLen, "pattern": noControl},
		"additionalProperties": obj{"maxLength": service.MaxMetaValueLen, "pattern": noNUL},
	}
	keysSetting = obj{"minimum": 1, "maximum": service.MaxKeysSetting}
	maxGrace    = keyward.Duration(service.MaxGrace).Human()
	userID      = obj{"pattern": keyward.IDPattern(keyward.PrefixUser)}
	webhookURL  = obj{"maxLength": outbox.MaxURLLength, "format": "uri",
		"description": "An absolute http or https URL without credentials or fragment. Loopback, private and link-local addresses are refused unless the server runs with --webhook-allow-private."}
	webhookEvents = obj{"maxItems": len(keyward.EventTypes), "items": obj{"enum": strs(keyward.EventTypes...)},
		"description": "The event types to send; left out, null or empty: every type."}
)

// memberRules refine members by "Component.member".
var memberRules = map[string]memberRule{
	"CreateKeyInput.name":         {schema: text(service.MaxNameLen, true)},
	"CreateKeyInput.scopes":       {schema: with(scopeList, "description", "Left out or null: every scope the maker may give.")},
	"CreateKeyInput.ip_allowlist": {schema: allowlist},
	"CreateKeyInput.metadata":     {schema: metadata},
	"KeyPatch.name":               {schema: text(service.MaxNameLen, true)},
	"KeyPatch.scopes":             {schema: with(scopeList, "description", "Only narrows: each must be a scope the key holds.")},
	"KeyPatch.ip_allowlist":       {schema: allowlist},
	"KeyPatch.metadata":           {schema: metadata},
	"RateLimit.limit":             {schema: obj{"minimum": 1, "maximum": keyward.MaxRateLimit}},
	"RateLimit.window": {schema: obj{"description": "From " + keyward.Duration(keyward.MinRateLimitWindow).Human() +
		" to " + keyward.Duration(keyward.MaxRateLimitWindow).Human() + "."}},
	"RotateInput.grace_period": {schema: obj{"description": "How long the old key keeps working: at most the org's rotation_max_grace (itself at most " + maxGrace + ")."}},
	"RevokeInput.reason":       {schema: text(service.MaxReasonLen, false)},
	"VerifyInput.key":          {schema: obj{"maxLength": service.MaxVerifyKeyLen, "description": "The key the client presented; at most " + strconv.Itoa(service.MaxVerifyKeyLen) + " bytes. An empty or unknown key is answered valid: false."}},
	"VerifyInput.scopes":       {schema: obj{"maxItems": service.MaxScopes, "description": "Scopes the key must hold."}},
	"VerifyInput.ip":           {schema: obj{"description": "The client's IP address, for keys with an IP allowlist."}},

	"CreateProjectInput.name":          {schema: text(service.MaxNameLen, true)},
	"CreateProjectInput.slug":          {schema: obj{"pattern": service.SlugPattern, "description": "Made from the name when left out."}},
	"CreateProjectInput.custom_scopes": {schema: scopeList},
	"ProjectPatch.name":                {schema: text(service.MaxNameLen, true)},
	"ProjectPatch.slug":                {schema: obj{"pattern": service.SlugPattern}},
	"ProjectPatch.custom_scopes":       {schema: scopeList},

	"SettingsPatch.max_keys_per_user":    {schema: keysSetting},
	"SettingsPatch.max_keys_per_project": {schema: keysSetting},
	"SettingsPatch.max_org_keys":         {schema: keysSetting},
	"SettingsPatch.max_key_lifetime":     {schema: obj{"description": "At least " + keyward.Duration(service.MinMaxKeyLifetime).Human() + "."}},
	"SettingsPatch.rotation_max_grace":   {schema: obj{"description": "At most " + maxGrace + "."}},

	"AddMemberInput.email":    {schema: obj{"maxLength": service.MaxEmailLen, "description": "An email address; compared in lower case."}},
	"AddMemberInput.name":     {schema: text(service.MaxNameLen, false)},
	"AddMemberInput.projects": {schema: obj{"maxItems": service.MaxProjectRoles}, as: "ProjectRoleInput"},
	"MemberPatch.projects": {schema: obj{"maxItems": service.MaxProjectRoles, "description": "Project roles to set; a role of \"\" removes the member from the project."},
		as: "ProjectRoleChange"},
	"MemberPatch.transfer_to": {schema: userID},
	// A project role as a request gives it: the member is the one the
	// request names.
	"ProjectRoleInput.user_id":  {optional: true, schema: obj{"deprecated": true, "description": "Ignored: the role is given to the member the request names."}},
	"ProjectRoleChange.user_id": {optional: true, schema: obj{"deprecated": true, "description": "Ignored: the role is given to the member the request names."}},
	"ProjectRoleChange.role":    {whole: obj{"anyOf": []any{obj{"$ref": "#/components/schemas/ProjectRole"}, obj{"type": "string", "enum": []any{""}}}}},

	"WebhookInput.url":           {schema: webhookURL},
	"WebhookInput.description":   {schema: text(service.MaxWebhookDescription, false)},
	"WebhookInput.events":        {schema: webhookEvents},
	"WebhookInput.enabled":       {schema: obj{"description": "Left out or null: enabled."}},
	"WebhookPatch.url":           {schema: webhookURL},
	"WebhookPatch.description":   {schema: text(service.MaxWebhookDescription, false)},
	"WebhookPatch.events":        {schema: with(webhookEvents, "description", "The event types to send; left out: unchanged; empty: every type.")},
	"WebhookEndpoint.events":     {schema: obj{"items": obj{"enum": strs(keyward.EventTypes...)}}},
	"WebhookDelivery.status":     {schema: obj{"enum": strs(keyward.DeliveryPending, keyward.DeliverySucceeded, keyward.DeliveryFailed)}},
	"WebhookDelivery.event_type": {schema: obj{"enum": strs(append(slices.Clone(keyward.EventTypes), keyward.EventWebhookTest)...)}},

	"VerifyResult.code":         {schema: obj{"enum": strs(keyward.VerifyCodes...)}},
	"ErrorDetail.code":          {schema: obj{"enum": strs(keyward.ErrorCodes...)}},
	"Member.status":             {schema: obj{"enum": strs("pending"), "description": "pending: the email has an account, which was invited (see invitation)."}},
	"AuditEvent.result":         {schema: obj{"enum": strs(keyward.ResultSuccess, keyward.ResultDenied)}},
	"Health.status":             {schema: obj{"enum": strs("ok")}},
	"Readiness.status":          {schema: obj{"enum": strs("ready")}},
	"Settings.leak_policy":      {schema: obj{"enum": strs(keyward.LeakRevoke, keyward.LeakFlag)}},
	"SettingsPatch.leak_policy": {schema: obj{"enum": strs(keyward.LeakRevoke, keyward.LeakFlag), "description": "What happens to a live key reported leaked."}},
	"Readiness.feeds":           {schema: obj{"additionalProperties": obj{"enum": strs("up", "down")}}},
}

// with is a copy of s with one more member.
func with(s obj, name string, v any) obj {
	c := deepCopy(s).(obj)
	c[name] = v
	return c
}

// queryParams are the query parameters of every route, by name.
var queryParams = map[string]obj{
	"limit": {"schema": obj{"type": "integer", "minimum": 1, "maximum": service.MaxPageSize},
		"description": "Page size; " + strconv.Itoa(service.DefaultPageSize) + " when left out."},
	"cursor": {"schema": obj{"type": "string"}, "description": "A page's next_cursor (or prev_cursor), for the page after (or before) it."},
	"q":      {"schema": obj{"type": "string", "maxLength": service.MaxSearch}, "description": "Finds keys whose name or hint contains it."},
	"status": {"schema": obj{"type": "string", "enum": strs(service.KeyStatusFilters...)},
		"description": "Keys in this state; active (the default) includes expiring."},
	"owner": {"schema": obj{"type": "string", "pattern": keyward.IDPattern(keyward.PrefixUser)}, "description": "Keys this user owns."},
	"scope": {"schema": obj{"type": "string", "maxLength": service.MaxSearch}, "description": "Keys that hold this scope."},
	"sort": {"schema": obj{"type": "string", "enum": strs(keyward.OrderOldest, keyward.OrderUsed, keyward.OrderUsedLeast)},
		"description": "Newest first when left out."},
	"action":       {"schema": obj{"type": "string", "maxLength": service.MaxAuditFilter}, "description": "Events of this action (key.create, …)."},
	"actor":        {"schema": obj{"type": "string", "maxLength": service.MaxAuditFilter}, "description": "Events by this actor id."},
	"since":        {"schema": obj{"type": "string", "format": "date-time", "pattern": rfc3339}, "description": "From this time on (RFC 3339): audit events at or after it, usage buckets that start at or after it."},
	"until":        {"schema": obj{"type": "string", "format": "date-time", "pattern": rfc3339}, "description": "Before this time (RFC 3339)."},
	"granularity":  {"schema": obj{"type": "string", "enum": strs("minute", "hour", "day")}, "description": "Usage buckets of a minute (the last 24 hours), an hour or a day."},
	"project_id":   {"schema": obj{"type": "string"}, "description": "Events of this project."},
	"key_handling": {"schema": obj{"$ref": "#/components/schemas/KeyHandling"}, "description": "What happens to the member's keys; revoke when left out."},
	"transfer_to":  {"schema": obj{"type": "string", "pattern": keyward.IDPattern(keyward.PrefixUser)}, "description": "The member who gets the keys (key_handling=transfer); the acting user when left out."},
}

// headerParams are the request headers routes read, by name.
var headerParams = map[string]obj{
	"x-api-key": {"schema": obj{"type": "string"},
		"description": "The client's key, as the client sent it to the proxy (or in Authorization: Bearer)."},
	HeaderRequiredScopes: {"schema": obj{"type": "string"},
		"description": "The scopes the proxied route requires, separated by commas or spaces."},
	"X-Forwarded-For":   {"schema": obj{"type": "string"}, "description": "The client's address, read only from a trusted proxy."},
	"Forwarded":         {"schema": obj{"type": "string"}, "description": "The client's address, read only from a trusted proxy."},
	MinChangeSeqHeader:  {"schema": obj{"type": "integer", "minimum": 0, "format": "int64"}, "description": "Answer at least as fresh as this change (an SDK's change stream position)."},
	HeaderLeakKeyID:     {"schema": obj{"type": "string"}, "description": "The identifier of the secret-scanning service's key that signed the report."},
	HeaderLeakSignature: {"schema": obj{"type": "string"}, "description": "The signature of the raw body: ECDSA P-256 over SHA-256, ASN.1, base64."},
}

// lenient are the types of request bodies read by encoding/json as it
// is, not by decode: a third party's format, whose members may be left
// out or null and which may carry members of its own.
var lenient = map[reflect.Type]bool{reflect.TypeFor[service.LeakReport](): true}

// responseHeaders are the headers of answers, as components/headers.
var responseHeaders = map[string]obj{
	"X-Request-Id": {"required": true, "schema": obj{"type": "string", "pattern": keyward.IDPattern(keyward.PrefixRequest)},
		"description": "The request's id, also in error bodies and the audit log."},
	"X-RateLimit-Limit":     {"schema": obj{"type": "integer"}, "description": "The calling key's rate limit: requests per window (only for a key with a rate limit)."},
	"X-RateLimit-Remaining": {"schema": obj{"type": "integer"}, "description": "Requests left in the current window."},
	"X-RateLimit-Reset":     {"schema": obj{"type": "integer"}, "description": "When the window ends, in Unix seconds."},
	"Retry-After":           {"required": true, "schema": obj{"type": "integer", "minimum": 1}, "description": "Seconds to wait before trying again."},
	"WWW-Authenticate":      {"required": true, "schema": obj{"type": "string"}, "description": `Bearer realm="keyward", with error="invalid_token" for a key that does not work.`},
	ChangeSeqHeader: {"schema": obj{"type": "integer", "format": "int64"},
		"description": "Set when the answer came from a trusted cache: the last key change the node had applied."},
	HeaderErrorCode:         {"schema": obj{"type": "string", "enum": strs(keyward.ErrorCodes...)}, "description": "The error's code, for proxies that drop the body: on every refusal (an internal error may lack it)."},
	keyward.HeaderKeyID:     {"required": true, "schema": obj{"type": "string"}, "description": "The client key's id."},
	keyward.HeaderProjectID: {"required": true, "schema": obj{"type": "string"}, "description": "The client key's project."},
	keyward.HeaderOwnerID:   {"required": true, "schema": obj{"type": "string"}, "description": "The client key's owner (a user id); empty when it has none."},
	keyward.HeaderScopes:    {"required": true, "schema": obj{"type": "string"}, "description": "The client key's scopes, separated by commas."},
	keyward.HeaderMetadata:  {"required": true, "schema": obj{"type": "string"}, "description": "The client key's metadata as a JSON object, non-ASCII escaped."},
}

// rateLimitHeaders are on every answer to a request with a key that has
// a rate limit.
var rateLimitHeaders = []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}

// The tags that group the operations, in the document's order.
const (
	tagVerification = "Verification"
	tagKeys         = "Keys"
	tagProjects     = "Projects"
	tagMembers      = "Members"
	tagSettings     = "Settings"
	tagAudit        = "Audit"
	tagForwardAuth  = "Forward authentication"
	tagLeaks        = "Leak reports"
	tagUsage        = "Usage"
	tagWebhooks     = "Webhooks"
	tagService      = "Service"
)

var openapiTags = []any{
	obj{"name": tagVerification, "description": "Verify the keys your clients present; the calling key; change streams for SDKs that cache verifications."},
	obj{"name": tagKeys, "description": "Project keys (with a project key, or an org key for any project) and org keys."},
	obj{"name": tagProjects, "description": "The org's projects (org keys)."},
	obj{"name": tagMembers, "description": "The org's members, their roles and invitations (org keys)."},
	obj{"name": tagSettings, "description": "The org's limits and policies (org keys)."},
	obj{"name": tagAudit, "description": "The audit log."},
	obj{"name": tagForwardAuth, "description": "Forward authentication for reverse proxies (docs/forward-auth.md)."},
	obj{"name": tagLeaks, "description": "Reports of leaked keys from secret-scanning services, signed by them (docs/leaks.md)."},
	obj{"name": tagUsage, "description": "Requests by outcome over time, per key and per project, and the org's credential report (docs/usage.md)."},
	obj{"name": tagWebhooks, "description": "The org's webhook endpoints, signed deliveries of key and member events, and the delivery log (docs/webhooks.md)."},
	obj{"name": tagService, "description": "Health and this document."},
}
