package service

import (
	"context"

	"github.com/keyward/keyward"
)

// KeyCounts counts usable keys per owner for the dashboard's confirmations
// ("their 3 keys will be revoked"): the keys of each of owners in a's org,
// or in one project with projectID. It needs the right to manage those
// members, as removing them does.
func (s *Service) KeyCounts(ctx context.Context, a *Actor, projectID string, owners []string) (map[string]int, error) {
	var err error
	if projectID != "" {
		_, err = s.projectAccess(ctx, s.store, a, projectID, actKeysRead, AuditMemberRead)
	} else {
		_, err = s.orgAccess(ctx, s.store, a, actMembersRead, AuditMemberRead)
	}
	if err != nil {
		return nil, s.finish(ctx, err)
	}
	out := make(map[string]int, len(owners))
	for _, u := range owners {
		n, err := s.store.CountUsableKeys(ctx, keyward.KeyFilter{OrgID: a.OrgID, ProjectID: projectID, OwnerUserID: u, Now: s.clock.Now()})
		if err != nil {
			return nil, err
		}
		out[u] = n
	}
	return out, nil
}

// ProjectKeyCounts counts the usable keys of each of a's org's projects
// projectIDs, for the confirmation that deleting one asks; it needs the
// right to delete projects.
func (s *Service) ProjectKeyCounts(ctx context.Context, a *Actor, projectIDs []string) (map[string]int, error) {
	if _, err := s.orgAccess(ctx, s.store, a, actProjectsRead, AuditProjectRead); err != nil {
		return nil, s.finish(ctx, err)
	}
	out := make(map[string]int, len(projectIDs))
	for _, id := range projectIDs {
		p, err := s.store.GetProject(ctx, id)
		if err != nil || p.OrgID != a.OrgID {
			continue
		}
		n, err := s.store.CountUsableKeys(ctx, keyward.KeyFilter{OrgID: a.OrgID, Kind: keyward.KindProject, ProjectID: id, Now: s.clock.Now()})
		if err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, nil
}
