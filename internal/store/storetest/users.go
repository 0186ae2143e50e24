package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward"
)

var userTests = []test{
	{"RoundTrip", func(t *testing.T, e *env) {
		u := e.user(unicodeName)
		got, err := e.s.GetUser(e.ctx, u.ID)
		mustNil(t, "GetUser", err)
		diff(t, "GetUser", u, got)
	}},
	{"GetNotFound", func(t *testing.T, e *env) {
		_, err := e.s.GetUser(e.ctx, keyward.NewID(keyward.PrefixUser))
		wantCode(t, "GetUser(unknown)", err, keyward.CodeNotFound)
		_, err = e.s.GetUserByEmail(e.ctx, "nobody@example.com")
		wantCode(t, "GetUserByEmail(unknown)", err, keyward.CodeNotFound)
	}},
	{"ByEmailIgnoresCase", func(t *testing.T, e *env) {
		u := e.user("Ann")
		for _, email := range []string{u.Email, strings.ToUpper(u.Email), strings.ToLower(u.Email)} {
			got, err := e.s.GetUserByEmail(e.ctx, email)
			mustNil(t, "GetUserByEmail("+email+")", err)
			diff(t, "GetUserByEmail("+email+")", u, got)
		}
	}},
	{"DuplicateEmailConflicts", func(t *testing.T, e *env) {
		u := e.user("Ann")
		dup := &keyward.User{ID: keyward.NewID(keyward.PrefixUser), Email: strings.ToUpper(u.Email), Name: "Bob", CreatedAt: base}
		wantCode(t, "CreateUser(same email, other case)", e.s.CreateUser(e.ctx, dup), keyward.CodeConflict)
	}},
	{"Update", func(t *testing.T, e *env) {
		u := e.user("Ann")
		other := e.user("Bob")
		u.Name, u.Email, u.PasswordHash = unicodeName, "Renamed+"+u.ID+"@example.org", "$argon2id$new"
		mustNil(t, "UpdateUser", e.s.UpdateUser(e.ctx, u))
		got, err := e.s.GetUserByEmail(e.ctx, strings.ToLower(u.Email))
		mustNil(t, "GetUserByEmail", err)
		diff(t, "after UpdateUser", u, got)

		taken := *u
		taken.Email = strings.ToUpper(other.Email)
		wantCode(t, "UpdateUser(taken email)", e.s.UpdateUser(e.ctx, &taken), keyward.CodeConflict)
		missing := *u
		missing.ID, missing.Email = keyward.NewID(keyward.PrefixUser), "missing@example.com"
		wantCode(t, "UpdateUser(unknown)", e.s.UpdateUser(e.ctx, &missing), keyward.CodeNotFound)
	}},
}

var orgTests = []test{
	{"RoundTrip", func(t *testing.T, e *env) {
		o := &keyward.Org{
			ID: keyward.NewID(keyward.PrefixOrg), Name: unicodeName, Slug: "acme",
			Settings: keyward.Settings{
				MaxKeysPerUser: 5, MaxKeysPerProject: 7, MaxOrgKeys: 2,
				MaxKeyLifetime:   ptr(keyward.Duration(90 * 24 * time.Hour)),
				RotationMaxGrace: keyward.Duration(time.Hour),
			},
			CreatedAt: base,
		}
		mustNil(t, "CreateOrg", e.s.CreateOrg(e.ctx, o))
		got, err := e.s.GetOrg(e.ctx, o.ID)
		mustNil(t, "GetOrg", err)
		diff(t, "GetOrg", o, got)

		def := e.org()
		got, err = e.s.GetOrg(e.ctx, def.ID)
		mustNil(t, "GetOrg", err)
		diff(t, "GetOrg(default settings)", def, got)
	}},
	{"NotFoundAndConflict", func(t *testing.T, e *env) {
		_, err := e.s.GetOrg(e.ctx, keyward.NewID(keyward.PrefixOrg))
		wantCode(t, "GetOrg(unknown)", err, keyward.CodeNotFound)
		o := e.org()
		dup := &keyward.Org{ID: keyward.NewID(keyward.PrefixOrg), Name: "x", Slug: o.Slug, CreatedAt: base}
		wantCode(t, "CreateOrg(same slug)", e.s.CreateOrg(e.ctx, dup), keyward.CodeConflict)
	}},
	{"Update", func(t *testing.T, e *env) {
		o, other := e.org(), e.org()
		o.Name, o.Slug = unicodeName, "renamed"
		o.Settings.MaxOrgKeys, o.Settings.MaxKeyLifetime = 42, ptr(keyward.Duration(3*time.Second))
		mustNil(t, "UpdateOrg", e.s.UpdateOrg(e.ctx, o))
		got, err := e.s.GetOrg(e.ctx, o.ID)
		mustNil(t, "GetOrg", err)
		diff(t, "after UpdateOrg", o, got)

		o.Settings.MaxKeyLifetime = nil
		mustNil(t, "UpdateOrg(clear lifetime)", e.s.UpdateOrg(e.ctx, o))
		got, err = e.s.GetOrg(e.ctx, o.ID)
		mustNil(t, "GetOrg", err)
		diff(t, "after clearing max_key_lifetime", o, got)

		taken := *o
		taken.Slug = other.Slug
		wantCode(t, "UpdateOrg(taken slug)", e.s.UpdateOrg(e.ctx, &taken), keyward.CodeConflict)
		missing := *o
		missing.ID, missing.Slug = keyward.NewID(keyward.PrefixOrg), "missing"
		wantCode(t, "UpdateOrg(unknown)", e.s.UpdateOrg(e.ctx, &missing), keyward.CodeNotFound)
	}},
	{"ListForUserAndCount", func(t *testing.T, e *env) {
		n, err := e.s.CountOrgs(e.ctx)
		mustNil(t, "CountOrgs", err)
		diff(t, "CountOrgs(empty store)", 0, n)

		ann, bob := e.user("Ann"), e.user("Bob")
		o1, o2, o3 := e.org(), e.org(), e.org()
		e.member(o1, ann, keyward.OrgOwner)
		e.member(o3, ann, keyward.OrgMember)
		e.member(o2, bob, keyward.OrgAdmin)

		got, err := e.s.ListOrgsForUser(e.ctx, ann.ID)
		mustNil(t, "ListOrgsForUser", err)
		diff(t, "ListOrgsForUser(ann)", []*keyward.Org{o1, o3}, got)
		got, err = e.s.ListOrgsForUser(e.ctx, e.user("Cy").ID)
		mustNil(t, "ListOrgsForUser", err)
		diff(t, "ListOrgsForUser(no orgs)", []*keyward.Org{}, got)

		n, err = e.s.CountOrgs(e.ctx)
		mustNil(t, "CountOrgs", err)
		diff(t, "CountOrgs", 3, n)
	}},
}
