package kwtest

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

// MustProject creates a project as the owner.
func (e *Env) MustProject(t testing.TB, name string, customScopes ...string) *keyward.Project {
	t.Helper()
	p, err := e.Service.CreateProject(context.Background(), e.Owner(), keyward.CreateProjectInput{Name: name, CustomScopes: customScopes})
	if err != nil {
		t.Fatalf("CreateProject(%q): %v", name, err)
	}
	return p
}

// MustMember adds a user with an org role and optional project role.
func (e *Env) MustMember(t testing.TB, email string, role keyward.OrgRole, projectID string, prole keyward.ProjectRole) *keyward.Member {
	t.Helper()
	in := keyward.AddMemberInput{Email: email, Role: role}
	if projectID != "" {
		in.Projects = []keyward.ProjectMember{{ProjectID: projectID, Role: prole}}
	}
	m, err := e.Service.AddMember(context.Background(), e.Owner(), in)
	if err != nil {
		t.Fatalf("AddMember(%q): %v", email, err)
	}
	return m
}

// MustKey creates a project key as actor a (nil = the owner).
func (e *Env) MustKey(t testing.TB, a *service.Actor, projectID string, in keyward.CreateKeyInput) *keyward.Key {
	t.Helper()
	if a == nil {
		a = e.Owner()
	}
	if in.Name == "" {
		in.Name = "test key"
	}
	k, err := e.Service.CreateKey(context.Background(), a, service.Where{ProjectID: projectID}, in)
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	return k
}

// Code returns err's error code ("" for nil).
func Code(err error) string { return keyward.ErrorCode(err) }

// MustPassword sets user id's password directly in the store.
func (e *Env) MustPassword(t testing.TB, userID, password string) {
	t.Helper()
	ctx := context.Background()
	u, err := e.Store.GetUser(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	u.PasswordHash = service.HashPassword(password)
	if err := e.Store.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
}

// OwnerEmail and OwnerPassword sign the bootstrap owner in.
const (
	OwnerEmail    = "owner@example.com"
	OwnerPassword = "correct horse battery"
)

// LogBuffer is a log destination that a test reads while a server or the
// SDK writes to it from their goroutines.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
