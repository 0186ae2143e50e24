package keyward

import (
	"testing"
	"time"
)

// Human writes durations as people write them, and what it writes reads
// back as the same duration.
func TestDurationHumanReadsBack(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{500 * time.Millisecond, "500ms"},
		{1500 * time.Millisecond, "1.5s"},
		{time.Second, "1s"},
		{90 * time.Second, "90s"},
		{time.Minute, "1m"},
		{10 * time.Minute, "10m"},
		{time.Hour, "1h"},
		{90 * time.Minute, "90m"},
		{time.Hour + 5*time.Second, "1h0m5s"},
		{24 * time.Hour, "24h"},
		{36 * time.Hour, "36h"},
		{48 * time.Hour, "2d"},
		{7 * 24 * time.Hour, "7d"},
		{90 * 24 * time.Hour, "90d"},
		{7*24*time.Hour + time.Hour, "169h"},
	}
	for _, tt := range tests {
		got := Duration(tt.d).Human()
		if got != tt.want {
			t.Errorf("Duration(%v).Human() = %q, want %q", tt.d, got, tt.want)
		}
		// What is written reads back as the same duration.
		back, err := ParseDuration(got)
		if err != nil || back != tt.d {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", got, back, err, tt.d)
		}
	}
}
