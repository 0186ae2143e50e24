package keyward_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/keyward/keyward"
)

// Durations are written as people write them, and everything written
// (now or by earlier versions, in stored settings) reads back.
func TestDurationHumanForm(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                "0s",
		30 * time.Second:                 "30s",
		time.Minute:                      "1m",
		90 * time.Minute:                 "90m",
		time.Hour:                        "1h",
		24 * time.Hour:                   "24h",
		36 * time.Hour:                   "36h",
		48 * time.Hour:                   "2d",
		168 * time.Hour:                  "7d",
		90 * 24 * time.Hour:              "90d",
		1500 * time.Millisecond:          "1.5s",
		time.Hour + 30*time.Minute + 1e9: "1h30m1s",
	} {
		b, err := json.Marshal(keyward.Duration(d))
		if err != nil || string(b) != `"`+want+`"` {
			t.Errorf("Marshal(%v) = %s, %v; want %q", d, b, err, want)
		}
		var back keyward.Duration
		if err := json.Unmarshal(b, &back); err != nil || back.Std() != d {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", b, back.Std(), err, d)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for s, want := range map[string]time.Duration{
		"168h0m0s": 168 * time.Hour, // what earlier versions wrote
		"24h":      24 * time.Hour,
		"7d":       7 * 24 * time.Hour,
		"07d":      7 * 24 * time.Hour,
		"1m":       time.Minute,
		"1h30m":    90 * time.Minute,
		"1d12h":    36 * time.Hour,
		"0s":       0,
	} {
		if got, err := keyward.ParseDuration(s); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "d", "-1h", "-1d", "1d-5h", "1d+5h", "x", "7 days", "36501d", "1dd", "36500d2562047h"} {
		if got, err := keyward.ParseDuration(s); err == nil {
			t.Errorf("ParseDuration(%q) = %v; want an error", s, got)
		}
	}
}
