package service

import (
	"context"

	"github.com/keyward/keyward"
)

// maxNames bounds how many ids of each kind one Names call looks up; the
// rest stay unnamed.
const maxNames = 500

// NameQuery lists ids the dashboard shows and wants named for people.
type NameQuery struct {
	Users    []string
	Keys     []string
	Projects []string
	Emails   []string // emails typed by the user, to find members by
}

// KeyName is how people know a key: its name and its hint (kwp_…Y0pi).
type KeyName struct {
	Name string
	Hint string
}

// Names maps ids to what people call them. An id missing from its map is
// one the caller may not have named, and is shown as the bare id.
type Names struct {
	People   map[string]string // user id → email
	Keys     map[string]KeyName
	Projects map[string]string // project id → name
	UserIDs  map[string]string // email as asked → user id
}

// Names names the ids of q as a, a signed-in user, may see them: people
// who are members of a's org by their email (and the other way round, for
// the emails of q); keys and projects of a's org
// that a may read (project keys and projects of projects a holds a role
// in, org keys for owners and admins). Everything else is left out, so
// nothing of another org, nor of a project a cannot see, is told; former
// members are left out too. Key actors get no names.
func (s *Service) Names(ctx context.Context, a *Actor, q NameQuery) (*Names, error) {
	out := &Names{People: map[string]string{}, Keys: map[string]KeyName{}, Projects: map[string]string{}, UserIDs: map[string]string{}}
	if !a.IsUser() {
		return out, nil
	}
	role, err := s.orgRole(ctx, s.store, a)
	if err != nil {
		return nil, err
	}
	if role == "" {
		return nil, keyward.NotFound("organization")
	}
	seen := map[string]bool{} // project ids a may see, decided once each
	mayRead := func(projectID string) (bool, error) {
		ok, done := seen[projectID]
		if done {
			return ok, nil
		}
		pr, err := s.projectRole(ctx, s.store, a, projectID)
		if err != nil {
			return false, err
		}
		seen[projectID] = pr != ""
		return pr != "", nil
	}
	for _, id := range distinctIDs(q.Users) {
		if !keyward.ValidID(keyward.PrefixUser, id) {
			continue
		}
		m, err := s.store.GetMember(ctx, a.OrgID, id)
		if keyward.ErrorCode(err) == keyward.CodeNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		out.People[id] = m.Email
	}
	for _, email := range distinctIDs(q.Emails) {
		u, err := s.store.GetUserByEmail(ctx, email)
		if keyward.ErrorCode(err) == keyward.CodeNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		if _, err := s.store.GetMember(ctx, a.OrgID, u.ID); err == nil {
			out.UserIDs[email] = u.ID
		} else if keyward.ErrorCode(err) != keyward.CodeNotFound {
			return nil, err
		}
	}
	for _, id := range distinctIDs(q.Projects) {
		if !keyward.ValidID(keyward.PrefixProject, id) {
			continue
		}
		p, err := s.store.GetProject(ctx, id)
		if keyward.ErrorCode(err) == keyward.CodeNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		if p.OrgID != a.OrgID {
			continue
		}
		if ok, err := mayRead(p.ID); err != nil {
			return nil, err
		} else if ok {
			out.Projects[id] = p.Name
		}
	}
	for _, id := range distinctIDs(q.Keys) {
		if !keyward.ValidID(keyward.PrefixKey, id) {
			continue
		}
		k, err := s.store.GetKey(ctx, id)
		if keyward.ErrorCode(err) == keyward.CodeNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		if k.OrgID != a.OrgID {
			continue
		}
		ok := orgRank(role) >= orgRank(orgRoleMin[actOrgKeysRead])
		if k.Kind == keyward.KindProject {
			if ok, err = mayRead(k.ProjectID); err != nil {
				return nil, err
			}
		}
		if ok {
			out.Keys[id] = KeyName{Name: k.Name, Hint: k.Hint}
		}
	}
	return out, nil
}

// distinctIDs returns ids without repeats, at most maxNames of them.
func distinctIDs(ids []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
		if len(out) == maxNames {
			break
		}
	}
	return out
}
