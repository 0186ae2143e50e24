package dashboard

import (
	"net/url"
	"strconv"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

// usageRanges are the ranges a usage chart offers, with the bucket size
// each is drawn in; the first is the default.
var usageRanges = []struct {
	value, label, granularity string
	length                    time.Duration
}{
	{"24h", "24 hours", "hour", 24 * time.Hour},
	{"1h", "1 hour", "minute", time.Hour},
	{"7d", "7 days", "hour", 7 * 24 * time.Hour},
	{"30d", "30 days", "day", 30 * 24 * time.Hour},
	{"90d", "90 days", "day", 90 * 24 * time.Hour},
}

// usageOutcomes are the outcomes in the order charts stack them, with the
// CSS class that colours each.
var usageOutcomes = [keyward.NumOutcomes]struct{ label, class string }{
	{"Valid", "u-valid"}, {"Invalid", "u-invalid"}, {"Expired", "u-expired"},
	{"Insufficient scope", "u-scope"}, {"IP not allowed", "u-ip"}, {"Rate limited", "u-rate"},
}

// usageChart is a usage chart as its template draws it: stacked bars in an
// SVG whose coordinates are bucket index (x) and a share of the tallest
// bar (y, 0–100), the axis labels in HTML around it (so they stay
// readable however narrow the SVG is drawn), and every number in a table.
type usageChart struct {
	ID      string // prefix of the element ids
	Caption string
	Ranges  []usageRangeLink
	Width   int // bucket count: the SVG's viewBox width
	Bars    []usageBar
	Max     int64  // the tallest bar's total
	Half    string // the middle gridline's value
	XLabels []string
	Legend  []usageLegend
	Rows    []usageTableRow // non-empty buckets, oldest first
	Totals  []int64
	Total   int64
	Summary string // the chart in one sentence, for its accessible description
	// TopFailures are the keys refused most in the range (project charts).
	TopFailures []keyward.KeyUsageTotal
}

type usageRangeLink struct {
	Label, URL string
	Current    bool
}

type usageBar struct {
	X     int
	Rects []usageRect
}

type usageRect struct {
	Y, H  float64
	Class string
	Title string
}

type usageLegend struct {
	Label, Class string
	Total        int64
}

type usageTableRow struct {
	Time   string
	Counts []int64
	Total  int64
}

// usageQueryOf is the range a page's ?usage= names (the default when
// absent or unknown) as a service query, and that range's value.
func usageQueryOf(v url.Values, now time.Time) (service.UsageQuery, string) {
	r := usageRanges[0]
	for _, c := range usageRanges {
		if c.value == v.Get("usage") {
			r = c
		}
	}
	return service.UsageQuery{Since: now.Add(-r.length), Granularity: r.granularity}, r.value
}

// newUsageChart lays out u for the page at base (whose ?usage= switches
// the range; current is the range shown).
func newUsageChart(id, caption string, u *keyward.KeyUsage, base, current string) *usageChart {
	c := &usageChart{ID: id, Caption: caption, Width: max(len(u.Buckets), 1), Totals: make([]int64, keyward.NumOutcomes)}
	for _, r := range usageRanges {
		c.Ranges = append(c.Ranges, usageRangeLink{Label: r.label, URL: base + "?" + url.Values{"usage": {r.value}}.Encode() + "#" + id, Current: r.value == current})
	}
	layout := "Jan 2"
	switch u.Granularity {
	case "minute":
		layout = "15:04"
	case "hour":
		layout = "Jan 2 15:00"
	}
	for _, b := range u.Buckets {
		c.Max = max(c.Max, b.Total())
	}
	c.Max = niceCeil(c.Max)
	c.Half = strconv.FormatInt(c.Max/2, 10)
	if c.Max%2 != 0 {
		c.Half += ".5"
	}
	for i, b := range u.Buckets {
		n := b.Array()
		when := b.Start.UTC().Format(layout)
		bar := usageBar{X: i}
		y := 100.0
		for o, v := range n {
			c.Totals[o] += v
			if v == 0 {
				continue
			}
			h := float64(v) * 100 / float64(c.Max)
			y -= h
			bar.Rects = append(bar.Rects, usageRect{Y: y, H: h, Class: usageOutcomes[o].class,
				Title: when + ": " + strconv.FormatInt(v, 10) + " " + usageOutcomes[o].label})
		}
		if len(bar.Rects) > 0 {
			c.Bars = append(c.Bars, bar)
			c.Rows = append(c.Rows, usageTableRow{Time: when, Counts: n[:], Total: b.Total()})
		}
	}
	for o, l := range usageOutcomes {
		c.Legend = append(c.Legend, usageLegend{Label: l.label, Class: l.class, Total: c.Totals[o]})
		c.Total += c.Totals[o]
	}
	// Five labels under the axis, spread as the CSS spreads them (the
	// first bucket's at the left edge, the last's at the right).
	if n := len(u.Buckets); n > 0 {
		const labels = 5
		for j := range labels {
			i := j * (n - 1) / (labels - 1)
			if j > 0 && n < labels {
				break
			}
			c.XLabels = append(c.XLabels, u.Buckets[i].Start.UTC().Format(layout))
		}
	}
	c.Summary = strconv.FormatInt(c.Total, 10) + " requests from " + u.Since.UTC().Format(layout) + " to " +
		u.Until.UTC().Format(layout) + " (UTC), by " + u.Granularity + ": " + strconv.FormatInt(c.Totals[keyward.OutcomeValid], 10) +
		" valid, " + strconv.FormatInt(c.Total-c.Totals[keyward.OutcomeValid], 10) + " refused."
	return c
}

// niceCeil rounds n up to 1, 2 or 5 times a power of ten (at least 1).
func niceCeil(n int64) int64 {
	if n <= 1 {
		return 1
	}
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= n {
				return m * p
			}
		}
	}
}
