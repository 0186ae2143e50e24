package service

import (
	"context"
	"slices"
	"time"

	"github.com/keyward/keyward"
)

// UsageQuery selects a range of usage counts: buckets of Granularity
// ("minute", "hour" or "day"; "" = hour) from Since to Until (zero: a
// default range ending now).
type UsageQuery struct {
	Since, Until time.Time
	Granularity  string
}

// Granularities are the bucket sizes a UsageQuery names, with their span,
// the range shown by default and the most buckets one answer holds.
var granularities = map[string]struct {
	span        time.Duration
	defaultSpan time.Duration
	maxBuckets  int
}{
	"minute": {keyward.SpanMinute, time.Hour, 24 * 60},
	"hour":   {keyward.SpanHour, 24 * time.Hour, 92 * 24},
	"day":    {keyward.SpanDay, 30 * 24 * time.Hour, 3660},
}

// usageRange checks q at now and returns its span and its range aligned to
// whole buckets. Each problem names its parameter.
func (s *Service) usageRange(q UsageQuery, now time.Time) (string, time.Duration, time.Time, time.Time, error) {
	name := q.Granularity
	if name == "" {
		name = "hour"
	}
	g, ok := granularities[name]
	if !ok {
		return "", 0, time.Time{}, time.Time{}, keyward.Invalid(keyward.FieldError{Field: "granularity", Problem: "must be minute, hour or day"})
	}
	until, since := q.Until, q.Since
	if until.IsZero() {
		until = now.Truncate(g.span).Add(g.span) // the current bucket included
	}
	if since.IsZero() {
		since = until.Add(-g.defaultSpan)
	}
	if !since.Before(until) {
		return "", 0, time.Time{}, time.Time{}, keyward.Invalid(keyward.FieldError{Field: "since", Problem: "must be before until"})
	}
	since = since.Truncate(g.span)
	if t := until.Truncate(g.span); !t.Equal(until) {
		until = t.Add(g.span)
	}
	if n := until.Sub(since) / g.span; n > time.Duration(g.maxBuckets) {
		return "", 0, time.Time{}, time.Time{}, keyward.Invalid(keyward.FieldError{Field: "since",
			Problem: "the range is too wide for " + name + " buckets: at most " + itoa(g.maxBuckets) + " of them; choose a coarser granularity"})
	}
	if kept := now.Add(-s.retention.of(g.span)); since.Before(kept.Truncate(g.span)) && g.span == keyward.SpanMinute {
		return "", 0, time.Time{}, time.Time{}, keyward.Invalid(keyward.FieldError{Field: "since",
			Problem: "minute buckets are kept for " + s.retention.Minute.String() + ": start later, or choose hour buckets"})
	}
	return name, g.span, since, until, nil
}

// usageSeries reads the buckets f selects as a KeyUsage with every bucket
// of the range, empty ones too.
func (s *Service) usageSeries(ctx context.Context, f keyward.UsageFilter, name string) (*keyward.KeyUsage, error) {
	rows, err := s.store.Usage(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &keyward.KeyUsage{Granularity: name, Since: f.Since, Until: f.Until, Buckets: []keyward.UsageBucket{}}
	i := 0
	for t := f.Since; t.Before(f.Until); t = t.Add(f.Span) {
		b := keyward.UsageBucket{Start: t}
		for i < len(rows) && rows[i].Start.Before(t.Add(f.Span)) {
			b.Add(rows[i].Counts)
			i++
		}
		out.Totals.Add(b.UsageCounts)
		out.Buckets = append(out.Buckets, b)
	}
	return out, nil
}

// KeyUsage returns the usage counts of key id among the keys w names, for
// actors that may read them.
func (s *Service) KeyUsage(ctx context.Context, a *Actor, w Where, id string, q UsageQuery) (*keyward.KeyUsage, error) {
	if _, err := s.access(ctx, s.store, a, w, actKeysRead, AuditKeyRead); err != nil {
		return nil, s.finish(ctx, err)
	}
	k, err := loadKey(ctx, s.store, a, w, id)
	if err != nil {
		return nil, err
	}
	name, span, since, until, err := s.usageRange(q, s.clock.Now())
	if err != nil {
		return nil, err
	}
	u, err := s.usageSeries(ctx, keyward.UsageFilter{KeyID: k.ID, Span: span, Since: since, Until: until}, name)
	if err != nil {
		return nil, err
	}
	u.KeyID, u.ProjectID = k.ID, k.ProjectID
	return u, nil
}

// topKeys is how many keys a project summary names in each of its lists.
const topKeys = 10

// ProjectUsage returns a project's usage counts over time, with the keys
// used most and failing most in the range.
func (s *Service) ProjectUsage(ctx context.Context, a *Actor, projectID string, q UsageQuery) (*keyward.ProjectUsage, error) {
	p, err := s.projectAccess(ctx, s.store, a, projectID, actKeysRead, AuditKeyRead)
	if err != nil {
		return nil, s.finish(ctx, err)
	}
	name, span, since, until, err := s.usageRange(q, s.clock.Now())
	if err != nil {
		return nil, err
	}
	f := keyward.UsageFilter{ProjectID: p.ID, Span: span, Since: since, Until: until}
	series, err := s.usageSeries(ctx, f, name)
	if err != nil {
		return nil, err
	}
	series.ProjectID = p.ID
	byKey, err := s.store.UsageByKey(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &keyward.ProjectUsage{KeyUsage: *series}
	rank := func(score func(keyward.UsageCounts) int64) ([]keyward.KeyUsageTotal, error) {
		rows := slices.Clone(byKey)
		rows = slices.DeleteFunc(rows, func(r keyward.UsageRow) bool { return score(r.Counts) == 0 })
		slices.SortStableFunc(rows, func(x, y keyward.UsageRow) int {
			sx, sy := score(x.Counts), score(y.Counts)
			switch {
			case sx > sy:
				return -1
			case sx < sy:
				return 1
			}
			return 0
		})
		top := []keyward.KeyUsageTotal{}
		for _, r := range rows[:min(len(rows), topKeys)] {
			k, err := s.store.GetKey(ctx, r.KeyID)
			if keyward.ErrorCode(err) == keyward.CodeNotFound {
				continue
			}
			if err != nil {
				return nil, err
			}
			top = append(top, keyward.KeyUsageTotal{KeyID: k.ID, Name: k.Name, Hint: k.Hint,
				Total: r.Counts.Total(), Failures: r.Counts.Failures(), Counts: r.Counts})
		}
		return top, nil
	}
	if out.TopByUse, err = rank(keyward.UsageCounts.Total); err != nil {
		return nil, err
	}
	if out.TopByFailures, err = rank(keyward.UsageCounts.Failures); err != nil {
		return nil, err
	}
	return out, nil
}

// CredentialReport lists every key of a's org, project and org keys,
// revoked ones too, with its age, last use, owner, scopes and expiry, for
// org admins and org keys with keys:read.
func (s *Service) CredentialReport(ctx context.Context, a *Actor) (*keyward.CredentialReport, error) {
	if _, err := s.orgAccess(ctx, s.store, a, actOrgKeysRead, AuditKeyRead); err != nil {
		return nil, s.finish(ctx, err)
	}
	now := s.clock.Now()
	keys, err := s.store.ListKeys(ctx, keyward.KeyFilter{OrgID: a.OrgID, Status: "all", Now: now, Order: keyward.OrderOldest})
	if err != nil {
		return nil, err
	}
	emails := map[string]string{}
	out := &keyward.CredentialReport{OrgID: a.OrgID, GeneratedAt: now, Keys: make([]keyward.CredentialReportRow, 0, len(keys))}
	for _, k := range keys {
		row := keyward.CredentialReportRow{
			KeyID: k.ID, Name: k.Name, Kind: k.Kind, Hint: k.Hint, ProjectID: k.ProjectID,
			Status: k.StatusAt(now), CreatedAt: k.CreatedAt, AgeDays: int(now.Sub(k.CreatedAt) / (24 * time.Hour)),
			OwnerUserID: k.OwnerUserID, Scopes: k.Scopes, ExpiresAt: k.ExpiresAt,
			LastUsedAt: k.LastUsedAt, LastUsedIP: k.LastUsedIP, LastUsedUserAgent: k.LastUsedUserAgent,
		}
		if k.LastUsedAt != nil {
			days := int(now.Sub(*k.LastUsedAt) / (24 * time.Hour))
			row.DaysSinceLastUse = &days
		}
		if k.OwnerUserID != nil {
			email, ok := emails[*k.OwnerUserID]
			if !ok {
				if u, err := s.store.GetUser(ctx, *k.OwnerUserID); err == nil {
					email = u.Email
				} else if keyward.ErrorCode(err) != keyward.CodeNotFound {
					return nil, err
				}
				emails[*k.OwnerUserID] = email
			}
			row.OwnerEmail = email
		}
		out.Keys = append(out.Keys, row)
	}
	return out, nil
}
