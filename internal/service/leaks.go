package service

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/apikey"
)

// LeakReport is one token a secret-scanning service found in public
// (docs/leaks.md): the token, its type as the scanner names it, where it
// was found, and what was scanned.
type LeakReport struct {
	Token  string `json:"token"`
	Type   string `json:"type"`
	URL    string `json:"url"`
	Source string `json:"source"`
}

// MaxLeakReports bounds the tokens of one report.
const MaxLeakReports = 1000

// leakActor is keyward acting on a leak report, in the key's org.
func leakActor(orgID string, o Origin) *Actor {
	return &Actor{OrgID: orgID, Origin: o, System: "secret-scanning"}
}

// ReportLeaks applies each org's leak policy to the live keys among the
// reported tokens: revoke at once (the default) or flag; either way the
// key gets a leak record (shown on the dashboard) and the org's audit log
// a key.leaked event with where it was found. Tokens that are not keyward
// keys, or not live ones, are passed over without a trace: the reporter,
// who has already been authenticated by its signature, learns nothing of
// which tokens exist. It returns how many keys it acted on.
func (s *Service) ReportLeaks(ctx context.Context, o Origin, reports []LeakReport) (int, error) {
	if len(reports) > MaxLeakReports {
		return 0, invalid(&keyward.FieldError{Field: "body", Problem: "at most 1000 tokens in one report"})
	}
	acted := 0
	for _, r := range reports {
		if _, err := apikey.Parse(r.Token); err != nil {
			continue // not a keyward key: nothing to look up
		}
		k, err := s.store.GetKeyByDigest(ctx, s.digest.Digest(r.Token))
		if keyward.ErrorCode(err) == keyward.CodeNotFound {
			continue // unknown, or revoked already (its digest is erased)
		}
		if err != nil {
			return acted, err
		}
		ok, err := s.leaked(ctx, o, k.ID, r)
		if err != nil {
			return acted, err
		}
		if ok {
			acted++
		}
	}
	return acted, nil
}

// leaked acts on one live key reported leaked, in one transaction; it
// reports false for a key no longer live when the transaction reads it.
func (s *Service) leaked(ctx context.Context, o Origin, keyID string, r LeakReport) (bool, error) {
	acted := false
	err := s.inTx(ctx, func(q keyward.Queries) error {
		k, err := q.GetKey(ctx, keyID)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		if k.RevokedAt != nil || k.StatusAt(now) == keyward.StatusExpired {
			return nil
		}
		org, err := q.GetOrg(ctx, k.OrgID)
		if err != nil {
			return err
		}
		a := leakActor(k.OrgID, o)
		leak := &keyward.KeyLeak{
			KeyID: k.ID, OrgID: k.OrgID, FoundAt: now,
			URL: clip(r.URL, 2000), Source: clip(r.Source, 100), Action: keyward.LeakFlagged,
		}
		// A report seen before (the same key at the same place, flagged):
		// nothing new to record or tell.
		prev, err := q.KeyLeaks(ctx, []string{k.ID})
		if err != nil {
			return err
		}
		if p := prev[k.ID]; p != nil && p.URL == leak.URL && p.Action == keyward.LeakFlagged {
			return nil
		}
		if org.Settings.LeakAction() == keyward.LeakRevoke {
			revoke(k, a, now, clip("leaked: found at "+leak.URL, MaxReasonLen))
			if err := q.UpdateKey(ctx, k); err != nil {
				return err
			}
			leak.Action = keyward.LeakRevoked
		}
		if err := q.PutKeyLeak(ctx, leak); err != nil {
			return err
		}
		ev := s.event(a, AuditKeyLeaked, k.ProjectID, keyRef(k))
		ev.Details = map[string]any{"url": leak.URL, "source": leak.Source, "type": clip(r.Type, 100), "action": leak.Action}
		acted = true
		return q.InsertAuditEvent(ctx, ev)
	})
	return acted, err
}

// KeyLeaks returns the leak records of the keys with these ids, by id, for
// pages that show them (the dashboard's badge).
func (s *Service) KeyLeaks(ctx context.Context, keyIDs []string) (map[string]*keyward.KeyLeak, error) {
	return s.store.KeyLeaks(ctx, keyIDs)
}

// clip keeps at most n bytes of valid UTF-8 of s, without control
// characters.
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}
