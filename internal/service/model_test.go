package service_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// TestAuthorityModel drives random sequences of operations (keys created,
// rotated, changed and revoked by keys and people; members added, promoted,
// demoted and removed; custom scopes and limits changed; time passing) by
// random actors, and checks after every step, against a small reference
// model of the rules of docs/authority.md kept here independently of the
// service's code, that:
//
//   - no key makes or changes a key stronger than itself on any axis;
//   - no actor succeeds at what the model's roles and scopes forbid;
//   - every key does exactly what its owner's current role allows, no more;
//   - a revoked or expired key never works;
//   - usable keys stay within the limits plus one key in its grace period;
//   - every change has its audit event.
//
// CI runs it with a fixed seed on SQLite and PostgreSQL. A longer run with a
// random seed (printed when it fails):
//
//	go test ./internal/service -run TestAuthorityModel -model.seed=0 -model.steps=5000
var (
	modelSeed  = flag.Uint64("model.seed", 1, "seed for TestAuthorityModel (0: a random one)")
	modelSteps = flag.Int("model.steps", 600, "operations per store in TestAuthorityModel")
)

func TestAuthorityModel(t *testing.T) {
	seed := *modelSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	stores := map[string]func(testing.TB) keyward.Store{"sqlite": kwtest.NewStore, "postgres": kwtest.NewPostgresStore}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			m := newModel(t, kwtest.NewEnvOn(t, stores[name](t)), seed)
			for step := range *modelSteps {
				m.step = step
				m.randomOp()
				if t.Failed() {
					t.Fatalf("failed at step %d; replay with -model.seed=%d -model.steps=%d\n%s", step, seed, step+1, m.trace())
				}
				if step%10 == 9 {
					m.checkKeys()
				}
			}
			m.checkKeys()
			if t.Failed() {
				t.Fatalf("failed at the end; replay with -model.seed=%d\n%s", seed, m.trace())
			}
			t.Logf("seed %d: %d operations, %d succeeded, %d keys made", seed, *modelSteps, m.succeeded, len(m.keys))
		})
	}
}

// model is the reference: the roles it expects, and every key's secret.
type model struct {
	t    *testing.T
	env  *kwtest.Env
	rng  *rand.Rand
	step int
	log  []string

	project    string
	custom     []string                       // the project's custom scopes
	orgRole    map[string]keyward.OrgRole     // user -> org role; absent: not a member
	projRole   map[string]keyward.ProjectRole // user -> role in the project; absent: none
	keys       []string                       // every key id ever made
	maxPerUser int                            // the highest max_keys_per_user the run has set
	secrets    map[string]string              // key id -> secret
	succeeded  int
}

var viewerAllows = []string{keyward.ScopeKeysRead, keyward.ScopeAuditRead}

func newModel(t *testing.T, env *kwtest.Env, seed uint64) *model {
	m := &model{t: t, env: env, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)),
		custom: []string{"orders:read", "orders:write"}, orgRole: map[string]keyward.OrgRole{env.OwnerID: keyward.OrgOwner},
		projRole: map[string]keyward.ProjectRole{}, secrets: map[string]string{}}
	m.project = env.MustProject(t, "P", m.custom...).ID
	m.maxPerUser = keyward.DefaultSettings().MaxKeysPerUser
	orgKeys, err := env.Store.ListKeys(ctx, keyward.KeyFilter{OrgID: env.OrgID, Kind: keyward.KindOrg})
	if err != nil || len(orgKeys) != 1 {
		t.Fatalf("bootstrap org key: %v, %v", orgKeys, err)
	}
	m.remember(orgKeys[0].ID, env.OrgKey)
	for range 4 {
		m.addMember(env.Owner())
	}
	return m
}

func (m *model) remember(id, secret string) {
	m.keys = append(m.keys, id)
	m.secrets[id] = secret
}

func (m *model) logf(format string, args ...any) {
	m.log = append(m.log, fmt.Sprintf("%4d ", m.step)+fmt.Sprintf(format, args...))
}

func (m *model) trace() string {
	from := max(0, len(m.log)-30)
	return "last operations:\n" + strings.Join(m.log[from:], "\n")
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// --- the rules, as the model states them ---------------------------------

// projectRole is the user's effective role in the project.
func (m *model) projectRole(user string) keyward.ProjectRole {
	switch m.orgRole[user] {
	case keyward.OrgOwner, keyward.OrgAdmin:
		return keyward.ProjectAdmin
	case keyward.OrgMember:
		return m.projRole[user]
	}
	return ""
}

func rank(r keyward.ProjectRole) int {
	return map[keyward.ProjectRole]int{keyward.ProjectViewer: 1, keyward.ProjectDeveloper: 2, keyward.ProjectAdmin: 3}[r]
}

func orgAdmin(r keyward.OrgRole) bool { return r == keyward.OrgOwner || r == keyward.OrgAdmin }

// effective is what key k (as stored) may do now: its scopes narrowed to its
// owner's roles, and whether its owner's roles allow it at all.
func (m *model) effective(k *keyward.Key) ([]string, bool) {
	if k.OwnerUserID == nil {
		return k.Scopes, true
	}
	owner := *k.OwnerUserID
	if k.Kind == keyward.KindOrg {
		return k.Scopes, orgAdmin(m.orgRole[owner])
	}
	switch m.projectRole(owner) {
	case "":
		return nil, false
	case keyward.ProjectViewer:
		return slices.DeleteFunc(slices.Clone(k.Scopes), func(s string) bool { return !slices.Contains(viewerAllows, s) }), true
	}
	return k.Scopes, true
}

// weaker reports whether key r is no stronger than actor key a (narrowed to
// eff) on any axis; for an org key acting on project keys, the project's
// custom scopes count as held.
func (m *model) weaker(a *keyward.Key, eff []string, r *keyward.Key) (bool, string) {
	for _, s := range r.Scopes {
		held := slices.Contains(eff, s) || (a.Kind == keyward.KindOrg && r.Kind == keyward.KindProject && slices.Contains(m.custom, s))
		if !held {
			return false, "scope " + s
		}
	}
	if a.ExpiresAt != nil && (r.ExpiresAt == nil || r.ExpiresAt.After(*a.ExpiresAt)) {
		return false, "expiry"
	}
	if len(a.IPAllowlist) > 0 {
		if len(r.IPAllowlist) == 0 {
			return false, "no allowlist"
		}
		for _, s := range r.IPAllowlist {
			p := netip.MustParsePrefix(s)
			if !slices.ContainsFunc(a.IPAllowlist, func(o string) bool {
				op := netip.MustParsePrefix(o)
				return op.Bits() <= p.Bits() && op.Contains(p.Addr())
			}) {
				return false, "allowlist " + s
			}
		}
	}
	if own := a.RateLimit; own != nil {
		rl := r.RateLimit
		if rl == nil || rl.Limit > own.Limit ||
			float64(rl.Limit)/rl.Window.Std().Seconds() > float64(own.Limit)/own.Window.Std().Seconds() {
			return false, "rate limit"
		}
	}
	return true, ""
}

// --- actors ----------------------------------------------------------------

// actor is who acts: a person, or a key as authenticated (with the key as
// the store held it just before).
type actor struct {
	*service.Actor
	key  *keyward.Key // as stored, for keys
	eff  []string     // what the key may do, per the model
	desc string
}

// randomActor picks a person or any key ever made; a key that the model
// says cannot authenticate is checked for that and gives no actor.
func (m *model) randomActor() *actor {
	if m.rng.IntN(3) == 0 {
		users := m.members()
		u := pick(m.rng, users)
		return &actor{Actor: m.env.User(u), desc: "user " + u + " (" + string(m.orgRole[u]) + "/" + string(m.projRole[u]) + ")"}
	}
	id := pick(m.rng, m.keys)
	if m.rng.IntN(4) != 0 { // mostly keys that still work
		usable, err := m.env.Store.ListKeys(ctx, keyward.KeyFilter{OrgID: m.env.OrgID, Now: m.env.Clock.Now()})
		if err != nil {
			m.t.Fatal(err)
		}
		if len(usable) > 0 {
			id = pick(m.rng, usable).ID
		}
	}
	k, ok := m.checkKey(id)
	if !ok {
		return nil
	}
	eff, _ := m.effective(k)
	return &actor{Actor: service.KeyActor(k, service.Origin{IP: "127.0.0.1"}), key: k, eff: eff, desc: "key " + id}
}

func (m *model) members() []string {
	var out []string
	for u := range m.orgRole {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

// checkKey authenticates key id as the API would and checks the answer
// against the model. It returns the key as stored when it authenticated.
func (m *model) checkKey(id string) (*keyward.Key, bool) {
	t := m.t
	t.Helper()
	k, err := m.env.Store.GetKey(ctx, id)
	if err != nil {
		t.Fatalf("GetKey(%s): %v", id, err)
	}
	// Each check from an address of its own in 127.0.0.0/16: the
	// failed-key throttle counts per address, and the checks present many
	// revoked and expired keys on purpose.
	from := netip.AddrFrom4([4]byte{127, 0, byte(m.rng.IntN(256)), byte(1 + m.rng.IntN(254))})
	got, err := m.env.Service.Authenticate(ctx, m.secrets[id], k.Kind, from)
	eff, access := m.effective(k)
	want := ""
	switch now := m.env.Clock.Now(); {
	case k.RevokedAt != nil:
		want = keyward.CodeAPIKeyInvalid
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		want = keyward.CodeAPIKeyExpired
	case !access:
		want = keyward.CodePermissionDenied
	case !k.AllowsIP(from):
		want = keyward.CodeIPNotAllowed
	}
	code := kwtest.Code(err)
	if code == keyward.CodeRateLimited && want == "" && k.RateLimit != nil {
		return nil, false
	}
	if code != want {
		t.Errorf("key %s (owner %v, revoked %v, expires %v): authenticate = %q, want %q", id, k.OwnerUserID, k.RevokedAt, k.ExpiresAt, code, want)
		return nil, false
	}
	if err != nil {
		return nil, false
	}
	if !slices.Equal(got.Scopes, eff) {
		t.Errorf("key %s of owner %v: acts with scopes %q, the model allows %q", id, k.OwnerUserID, got.Scopes, eff)
	}
	return k, true
}

// checkKeys checks every key ever made, the limits and the roles.
func (m *model) checkKeys() {
	t := m.t
	t.Helper()
	for _, id := range m.keys {
		m.checkKey(id)
	}
	org, err := m.env.Store.GetOrg(ctx, m.env.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	now := m.env.Clock.Now()
	all, err := m.env.Store.ListKeys(ctx, keyward.KeyFilter{OrgID: m.env.OrgID, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	perOwner, inProject, orgKeys := map[string]int{}, 0, 0
	projectScopes := append(slices.Clone(keyward.ProjectScopes), m.custom...)
	for _, k := range all {
		if _, access := m.effective(k); !access {
			t.Errorf("usable key %s belongs to %v, who holds no role for it: keys are never left orphaned", k.ID, *k.OwnerUserID)
		}
		if k.Kind == keyward.KindOrg {
			orgKeys++
			continue
		}
		inProject++
		if k.OwnerUserID != nil {
			perOwner[*k.OwnerUserID]++
		}
		for _, s := range k.Scopes {
			if !slices.Contains(projectScopes, s) {
				t.Errorf("key %s holds %q, which the project no longer has", k.ID, s)
			}
		}
	}
	// Lowering a limit leaves the keys that exist: check against the
	// highest limit the run has set.
	for u, n := range perOwner {
		if n > m.maxPerUser+1 {
			t.Errorf("user %s has %d usable keys; limit %d plus one in its grace period", u, n, org.Settings.MaxKeysPerUser)
		}
	}
	if inProject > org.Settings.MaxKeysPerProject+1 || orgKeys > org.Settings.MaxOrgKeys+1 {
		t.Errorf("usable keys: %d in the project, %d org keys; limits %d and %d", inProject, orgKeys, org.Settings.MaxKeysPerProject, org.Settings.MaxOrgKeys)
	}
	for _, u := range m.members() {
		mem, err := m.env.Store.GetMember(ctx, m.env.OrgID, u)
		if err != nil || mem.Role != m.orgRole[u] {
			t.Errorf("member %s: store has %v (%v), model %q", u, mem, err, m.orgRole[u])
		}
	}
}

// --- operations --------------------------------------------------------------

func (m *model) randomOp() {
	switch n := m.rng.IntN(100); {
	case n < 30:
		m.createKey()
	case n < 42:
		m.keyOp("rotate")
	case n < 54:
		m.keyOp("patch")
	case n < 62:
		m.keyOp("revoke")
	case n < 72:
		m.projectRoleOp()
	case n < 79:
		m.orgRoleOp()
	case n < 83:
		m.removeOp()
	case n < 87:
		if a := m.randomActor(); a != nil {
			if role, prole, ok := m.addMember(a.Actor); ok && (!m.mayChangeMembers(a, false) || !m.mayGive(a, role, prole)) {
				m.t.Errorf("%s added a %s/%s, which the model forbids", a.desc, role, prole)
			}
		}
	case n < 91:
		m.customScopesOp()
	case n < 96:
		m.settingsOp()
	default:
		d := time.Duration(5+m.rng.IntN(60)) * time.Minute
		m.env.Clock.Advance(d)
		m.logf("clock +%v", d)
	}
}

var (
	expiries   = []*keyward.Duration{nil, mdur(30 * time.Minute), mdur(2 * time.Hour), mdur(200 * time.Hour)}
	allowlists = [][]string{nil, nil, {"127.0.0.0/8"}, {"127.0.0.0/16"}, {"10.0.0.0/8"}}
	rateLimits = []*keyward.RateLimit{nil, nil, {Limit: 1000, Window: keyward.Duration(time.Minute)},
		{Limit: 2000, Window: keyward.Duration(time.Minute)}, {Limit: 1000, Window: keyward.Duration(30 * time.Second)},
		{Limit: 100000, Window: keyward.Duration(24 * time.Hour)}}
	graces = []*keyward.Duration{nil, mdur(time.Hour), mdur(168 * time.Hour)}
)

func mdur(d time.Duration) *keyward.Duration { x := keyward.Duration(d); return &x }

func (m *model) randomScopes(kind keyward.KeyKind) []string {
	if m.rng.IntN(3) == 0 {
		return nil
	}
	all := append(slices.Clone(keyward.ProjectScopes), m.custom...)
	if kind == keyward.KindOrg {
		all = keyward.OrgScopes
	}
	out := []string{}
	for _, s := range all {
		if m.rng.IntN(2) == 0 {
			out = append(out, s)
		}
	}
	return out
}

func (m *model) where(kind keyward.KeyKind) service.Where {
	if kind == keyward.KindOrg {
		return service.Where{}
	}
	return service.Where{ProjectID: m.project}
}

// audited checks that a successful change wrote an audit event of action:
// one among the events newer than before (newest first, by id).
func (m *model) audited(before string, action string) {
	evs, err := m.env.Store.ListAuditEvents(ctx, keyward.AuditFilter{OrgID: m.env.OrgID, Limit: 200})
	if err != nil {
		m.t.Fatal(err)
	}
	var fresh []string
	for _, e := range evs {
		if e.ID <= before {
			break
		}
		if e.Result == keyward.ResultSuccess {
			fresh = append(fresh, e.Action)
		}
	}
	if !slices.Contains(fresh, action) {
		m.t.Errorf("a successful change wrote events %q, none of them %s", fresh, action)
	}
}

// newestEvent names the newest audit event ("" for none), for audited.
func (m *model) newestEvent() string {
	evs, err := m.env.Store.ListAuditEvents(ctx, keyward.AuditFilter{OrgID: m.env.OrgID, Limit: 1})
	if err != nil {
		m.t.Fatal(err)
	}
	if len(evs) == 0 {
		return ""
	}
	return evs[0].ID
}

// mayManageKeys is the model's answer to "may a make keys of kind kind".
func (m *model) mayManageKeys(a *actor, kind keyward.KeyKind) bool {
	switch {
	case a.key == nil && kind == keyward.KindOrg:
		return orgAdmin(m.orgRole[a.UserID])
	case a.key == nil:
		return rank(m.projectRole(a.UserID)) >= rank(keyward.ProjectDeveloper)
	case a.key.Kind == keyward.KindProject && kind == keyward.KindOrg:
		return false
	}
	return slices.Contains(a.eff, keyward.ScopeKeysWrite) && a.key.ReplacedBy == nil
}

func (m *model) createKey() {
	a := m.randomActor()
	if a == nil {
		return
	}
	kind := keyward.KindProject
	if m.rng.IntN(5) == 0 {
		kind = keyward.KindOrg
	}
	in := keyward.CreateKeyInput{Name: "k", Scopes: m.randomScopes(kind), ExpiresIn: pick(m.rng, expiries),
		IPAllowlist: pick(m.rng, allowlists), RateLimit: pick(m.rng, rateLimits)}
	before := m.newestEvent()
	k, err := m.env.Service.CreateKey(ctx, a.Actor, m.where(kind), in)
	m.logf("%s creates a %s key (scopes %q, expires in %v, allowlist %q, rate limit %v): %v", a.desc, kind, in.Scopes, in.ExpiresIn, in.IPAllowlist, in.RateLimit, kwtest.Code(err))
	if err != nil {
		return
	}
	m.succeeded++
	m.remember(k.ID, k.Secret)
	m.audited(before, service.AuditKeyCreate)
	if !m.mayManageKeys(a, kind) {
		m.t.Errorf("%s created a %s key, which the model forbids", a.desc, kind)
	}
	if a.key != nil {
		if ok, why := m.weaker(a.key, a.eff, k); !ok {
			m.t.Errorf("%s made key %s stronger than itself: %s", a.desc, k.ID, why)
		}
	}
}

func (m *model) keyOp(op string) {
	a := m.randomActor()
	if a == nil {
		return
	}
	target, err := m.env.Store.GetKey(ctx, pick(m.rng, m.keys))
	if err != nil {
		m.t.Fatal(err)
	}
	w := m.where(target.Kind)
	before := m.newestEvent()
	var res *keyward.Key
	action := map[string]string{"rotate": service.AuditKeyRotate, "patch": service.AuditKeyUpdate, "revoke": service.AuditKeyRevoke}[op]
	switch op {
	case "rotate":
		g := pick(m.rng, graces)
		res, err = m.env.Service.RotateKey(ctx, a.Actor, w, target.ID, keyward.RotateInput{GracePeriod: g})
		if err == nil {
			m.remember(res.ID, res.Secret)
		}
	case "patch":
		p := keyward.KeyPatch{}
		switch m.rng.IntN(4) {
		case 0:
			s := m.randomScopes(target.Kind)
			if s == nil {
				s = []string{}
			}
			p.Scopes = &s
		case 1:
			l := pick(m.rng, allowlists)
			if l == nil {
				l = []string{}
			}
			p.IPAllowlist = &l
		case 2:
			p.RateLimit = pick(m.rng, rateLimits)
			p.ClearRateLimit = p.RateLimit == nil
		default:
			p.Name = ptr("renamed")
		}
		res, err = m.env.Service.UpdateKey(ctx, a.Actor, w, target.ID, p)
	case "revoke":
		res, err = m.env.Service.RevokeKey(ctx, a.Actor, w, target.ID, keyward.RevokeInput{})
		if err == nil && target.RevokedAt != nil {
			action = "" // already revoked: no second event
		}
	}
	m.logf("%s %ss key %s: %v", a.desc, op, target.ID, kwtest.Code(err))
	if err != nil {
		return
	}
	m.succeeded++
	if action != "" {
		m.audited(before, action)
	}
	self := a.key != nil && a.key.ID == target.ID
	if self && op == "revoke" {
		return // a key may always revoke itself
	}
	// Who may change which key.
	switch {
	case a.key == nil && target.Kind == keyward.KindOrg:
		if !orgAdmin(m.orgRole[a.UserID]) {
			m.t.Errorf("%s %sd org key %s, which the model forbids", a.desc, op, target.ID)
		}
	case a.key == nil:
		own := target.OwnerUserID != nil && *target.OwnerUserID == a.UserID
		role := m.projectRole(a.UserID)
		if !(role == keyward.ProjectAdmin || (own && rank(role) >= rank(keyward.ProjectDeveloper))) {
			m.t.Errorf("%s %sd key %s of %v, which the model forbids", a.desc, op, target.ID, target.OwnerUserID)
		}
	default:
		if !m.mayManageKeys(a, target.Kind) && !(self && op == "patch" && slices.Contains(a.eff, keyward.ScopeKeysWrite)) {
			m.t.Errorf("%s %sd key %s without the right to manage keys", a.desc, op, target.ID)
		}
		if ok, why := m.weaker(a.key, a.eff, target); !ok {
			m.t.Errorf("%s %sd key %s, which is stronger than itself: %s", a.desc, op, target.ID, why)
		}
		if op != "revoke" {
			if ok, why := m.weaker(a.key, a.eff, res); !ok {
				m.t.Errorf("%s %sd key %s into one stronger than itself: %s", a.desc, op, target.ID, why)
			}
		}
	}
}

// mayChangeMembers is the model's answer to "may a change roles" (project
// roles only with project, org roles otherwise).
func (m *model) mayChangeMembers(a *actor, project bool) bool {
	switch {
	case a.key == nil && project:
		return m.projectRole(a.UserID) == keyward.ProjectAdmin
	case a.key == nil:
		return orgAdmin(m.orgRole[a.UserID])
	}
	return a.key.Kind == keyward.KindOrg && slices.Contains(a.eff, keyward.ScopeMembersWrite)
}

// mayGive is the model's answer to "may key actor a give a person this
// role": only a key bounded by nothing, holding every scope the role needs.
func (m *model) mayGive(a *actor, orgRole keyward.OrgRole, projectRole keyward.ProjectRole) bool {
	if a.key == nil {
		return true
	}
	var need []string
	switch {
	case orgRole == keyward.OrgAdmin || orgRole == keyward.OrgOwner:
		need = keyward.OrgScopes
	case projectRole == keyward.ProjectViewer:
		need = viewerAllows
	case projectRole == keyward.ProjectAdmin:
		need = append(slices.Clone(keyward.ProjectScopes), keyward.ScopeMembersWrite, keyward.ScopeProjectsWrite)
	case projectRole != "":
		need = keyward.ProjectScopes
	}
	if len(need) == 0 {
		return true
	}
	k := a.key
	if k.ExpiresAt != nil || len(k.IPAllowlist) > 0 || k.RateLimit != nil {
		return false
	}
	for _, s := range need {
		if !slices.Contains(a.eff, s) {
			return false
		}
	}
	return true
}

// someone picks a member other than the bootstrap owner.
func (m *model) someone() string {
	var others []string
	for _, u := range m.members() {
		if u != m.env.OwnerID {
			others = append(others, u)
		}
	}
	if len(others) == 0 {
		return ""
	}
	return pick(m.rng, others)
}

func (m *model) handling() (keyward.KeyHandling, string) {
	if m.rng.IntN(2) == 0 {
		return keyward.KeysRevoke, ""
	}
	return keyward.KeysTransfer, m.env.OwnerID
}

func (m *model) projectRoleOp() {
	a, u := m.randomActor(), m.someone()
	if a == nil || u == "" {
		return
	}
	role := pick(m.rng, []keyward.ProjectRole{keyward.ProjectAdmin, keyward.ProjectDeveloper, keyward.ProjectViewer, ""})
	h, to := m.handling()
	before := m.newestEvent()
	_, err := m.env.Service.UpdateMember(ctx, a.Actor, u, keyward.MemberPatch{KeyHandling: h, TransferTo: to,
		Projects: []keyward.ProjectMember{{ProjectID: m.project, Role: role}}})
	m.logf("%s sets %s's project role to %q (%s): %v", a.desc, u, role, h, kwtest.Code(err))
	if err != nil {
		return
	}
	m.succeeded++
	m.audited(before, service.AuditMemberUpdate)
	if !m.mayChangeMembers(a, true) || !m.mayGive(a, "", role) {
		m.t.Errorf("%s changed a project role to %q, which the model forbids", a.desc, role)
	}
	if role == "" {
		delete(m.projRole, u)
	} else {
		m.projRole[u] = role
	}
}

func (m *model) orgRoleOp() {
	a, u := m.randomActor(), m.someone()
	if a == nil || u == "" {
		return
	}
	role := pick(m.rng, []keyward.OrgRole{keyward.OrgAdmin, keyward.OrgMember})
	h, to := m.handling()
	before := m.newestEvent()
	_, err := m.env.Service.UpdateMember(ctx, a.Actor, u, keyward.MemberPatch{Role: &role, KeyHandling: h, TransferTo: to})
	m.logf("%s sets %s's org role to %s (%s): %v", a.desc, u, role, h, kwtest.Code(err))
	if err != nil {
		return
	}
	m.succeeded++
	if role != m.orgRole[u] {
		m.audited(before, service.AuditMemberUpdate)
	}
	if !m.mayChangeMembers(a, false) || (role != m.orgRole[u] && !m.mayGive(a, role, "")) {
		m.t.Errorf("%s changed an org role to %s, which the model forbids", a.desc, role)
	}
	m.orgRole[u] = role
}

func (m *model) removeOp() {
	a, u := m.randomActor(), m.someone()
	if a == nil || u == "" {
		return
	}
	h, to := m.handling()
	before := m.newestEvent()
	err := m.env.Service.RemoveMember(ctx, a.Actor, u, keyward.RemoveMemberInput{KeyHandling: h, TransferTo: to})
	m.logf("%s removes %s (%s): %v", a.desc, u, h, kwtest.Code(err))
	if err != nil {
		return
	}
	m.succeeded++
	m.audited(before, service.AuditMemberRemove)
	if !m.mayChangeMembers(a, false) {
		m.t.Errorf("%s removed a member, which the model forbids", a.desc)
	}
	delete(m.orgRole, u)
	delete(m.projRole, u)
}

// addMember adds a new person with a random org role and project role.
func (m *model) addMember(a *service.Actor) (keyward.OrgRole, keyward.ProjectRole, bool) {
	role := pick(m.rng, []keyward.OrgRole{keyward.OrgAdmin, keyward.OrgMember, keyward.OrgMember})
	prole := pick(m.rng, []keyward.ProjectRole{keyward.ProjectAdmin, keyward.ProjectDeveloper, keyward.ProjectDeveloper, keyward.ProjectViewer})
	mem, err := m.env.Service.AddMember(ctx, a, keyward.AddMemberInput{Email: uniq("model") + "@example.com", Role: role,
		Projects: []keyward.ProjectMember{{ProjectID: m.project, Role: prole}}})
	m.logf("%s adds a %s/%s: %v", a.Ref(), role, prole, kwtest.Code(err))
	if err != nil {
		return role, prole, false
	}
	m.succeeded++
	m.orgRole[mem.UserID], m.projRole[mem.UserID] = role, prole
	return role, prole, true
}

func (m *model) customScopesOp() {
	a := m.randomActor()
	if a == nil {
		return
	}
	next := pick(m.rng, [][]string{{"orders:read", "orders:write"}, {"orders:read"}, {}})
	before := m.newestEvent()
	_, err := m.env.Service.UpdateProject(ctx, a.Actor, m.project, keyward.ProjectPatch{CustomScopes: &next})
	m.logf("%s sets custom scopes %q: %v", a.desc, next, kwtest.Code(err))
	if err != nil {
		return
	}
	m.succeeded++
	m.audited(before, service.AuditProjectUpdate)
	m.custom = next
}

func (m *model) settingsOp() {
	n := 2 + m.rng.IntN(3)
	_, err := m.env.Service.UpdateSettings(ctx, m.env.Owner(), keyward.SettingsPatch{MaxKeysPerUser: &n})
	m.logf("owner sets max_keys_per_user %d: %v", n, kwtest.Code(err))
	if err != nil {
		m.t.Errorf("settings: %v", err)
	}
	m.maxPerUser = max(m.maxPerUser, n)
}
