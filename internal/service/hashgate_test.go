package service_test

import (
	"fmt"
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// Every path that computes argon2id waits for a hash slot: while all are
// taken, sign-in, password change, reset links and setup answer
// RATE_LIMITED with Retry-After at once, and use nothing up (the reset and
// setup links still work afterwards).
func TestEveryPasswordHashTakesASlot(t *testing.T) {
	env := kwtest.NewEnv(t)
	m := env.MustMember(t, "dev@example.com", keyward.OrgMember, "", "")
	reset, err := env.Service.CreatePasswordReset(ctx, env.Owner(), m.UserID)
	if err != nil {
		t.Fatal(err)
	}
	_, sess, err := env.Service.Login(ctx, kwtest.OwnerEmail, kwtest.OwnerPassword, origin)
	if err != nil {
		t.Fatal(err)
	}
	empty := kwtest.NewStore(t)
	fresh, err := service.New(service.Config{Store: empty, Clock: kwtest.NewClock()})
	if err != nil {
		t.Fatal(err)
	}
	setup, err := fresh.NewSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	boot := service.BootstrapInput{OrgName: "Other", Email: "first@example.com", Password: "first owner pw"}

	busy := func(what string, err error) {
		t.Helper()
		if kwtest.Code(err) != keyward.CodeRateLimited || keyward.AsError(err).RetryAfter <= 0 {
			t.Errorf("%s with every hash slot taken: %v; want RATE_LIMITED with Retry-After", what, err)
		}
	}
	release := env.Service.HoldHashSlots()
	releaseFresh := fresh.HoldHashSlots()
	_, _, err = env.Service.Login(ctx, kwtest.OwnerEmail, kwtest.OwnerPassword, service.Origin{IP: "192.0.2.50"})
	busy("Login", err)
	_, _, err = env.Service.ChangePassword(ctx, sess, kwtest.OwnerPassword, "a new password", origin)
	busy("ChangePassword", err)
	busy("ResetPassword", env.Service.ResetPassword(ctx, reset, "developer's password"))
	_, _, err = fresh.Setup(ctx, setup, boot, origin)
	busy("Setup", err)
	release()
	releaseFresh()

	if _, _, err := env.Service.Login(ctx, kwtest.OwnerEmail, kwtest.OwnerPassword, service.Origin{IP: "192.0.2.50"}); err != nil {
		t.Errorf("Login once slots are free: %v", err)
	}
	if _, _, err := env.Service.ChangePassword(ctx, sess, kwtest.OwnerPassword, "a new password", origin); err != nil {
		t.Errorf("ChangePassword once slots are free: %v", err)
	}
	if err := env.Service.ResetPassword(ctx, reset, "developer's password"); err != nil {
		t.Errorf("the reset link once slots are free: %v", err)
	}
	if _, _, err := fresh.Setup(ctx, setup, boot, origin); err != nil {
		t.Errorf("the setup link once slots are free: %v", err)
	}
}

// Made-up reset and invitation tokens never reach a hash slot: with every
// slot taken they are still answered at once as unknown links. Before,
// anonymous requests with made-up tokens hashed first and so kept every
// sign-in waiting.
func TestMadeUpLinksTakeNoHashSlot(t *testing.T) {
	env := kwtest.NewEnv(t)
	release := env.Service.HoldHashSlots()
	defer release()
	if err := env.Service.ResetPassword(ctx, "made-up-token", "a new password"); kwtest.Code(err) != keyward.CodeNotFound {
		t.Errorf("reset with a made-up token while the slots are taken: %v, want NOT_FOUND", err)
	}
	if _, _, err := env.Service.AcceptInvitationWithPassword(ctx, "made-up-token", "a new password", origin); kwtest.Code(err) != keyward.CodeNotFound {
		t.Errorf("invitation with a made-up token while the slots are taken: %v, want NOT_FOUND", err)
	}
}

// The current password asked to change it is a guess like a sign-in's:
// after the account's failures, more guesses from a session are refused
// however fast they come.
func TestPasswordChangeGuessesAreCounted(t *testing.T) {
	env := kwtest.NewEnv(t)
	_, sess, err := env.Service.Login(ctx, kwtest.OwnerEmail, kwtest.OwnerPassword, origin)
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for i := range 20 {
		_, _, err := env.Service.ChangePassword(ctx, sess, fmt.Sprintf("guess %d", i), "a new password", origin)
		if kwtest.Code(err) == keyward.CodeRateLimited {
			refused++
		}
	}
	if refused == 0 {
		t.Error("20 wrong current passwords in a row were all checked")
	}
}
