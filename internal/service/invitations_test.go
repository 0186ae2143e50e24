package service_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("link %q", link)
	}
	return u.Query().Get("token")
}

// A reset link made by org B works only while its account belongs to B
// alone: not after B removed the person and another org has them.
func TestResetLinkOfAFormerOrg(t *testing.T) {
	env := kwtest.NewEnv(t)
	b, err := env.Service.CreateOrg(ctx, env.OwnerID, service.CreateOrgInput{Name: "Beta"}, origin)
	if err != nil {
		t.Fatal(err)
	}
	bOwner := service.UserActor(env.OwnerID, b.ID, origin)
	m, err := env.Service.AddMember(ctx, bOwner, keyward.AddMemberInput{Email: "dana@example.com", Role: keyward.OrgMember})
	if err != nil {
		t.Fatal(err)
	}
	reset, err := env.Service.CreatePasswordReset(ctx, bOwner, m.UserID)
	if err != nil {
		t.Fatal(err)
	}
	// Dana joins A (B's link sets nothing: she is B's member, so A invites).
	env.MustPassword(t, m.UserID, "dana's password")
	inv, err := env.Service.AddMember(ctx, env.Owner(), keyward.AddMemberInput{Email: "dana@example.com", Role: keyward.OrgMember})
	if err != nil || inv.Status != "pending" {
		t.Fatalf("invite dana to A: %+v, %v", inv, err)
	}
	if err := env.Service.RemoveMember(ctx, bOwner, m.UserID, keyward.RemoveMemberInput{}); err != nil {
		t.Fatal(err)
	}
	// B's invitation link of dana was revoked with her membership.
	if _, err := env.Service.AcceptInvitation(ctx, m.UserID, tokenOf(t, m.Invitation.URL), origin); kwtest.Code(err) != keyward.CodeConflict || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("accept B's invitation after removal: %v", err)
	}
	if _, err := env.Service.AcceptInvitation(ctx, m.UserID, tokenOf(t, inv.Invitation.URL), origin); err != nil {
		t.Fatalf("accept A: %v", err)
	}
	if err := env.Service.ResetPassword(ctx, reset, "beta owns dana"); kwtest.Code(err) != keyward.CodePermissionDenied {
		t.Errorf("B's reset link once dana is A's alone: %v, want PERMISSION_DENIED", err)
	}
}
