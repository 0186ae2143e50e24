package keyward

import (
	"strconv"
	"strings"
	"time"
)

// FormatDuration writes d as people write it, and as ParseDuration reads
// it back: whole days from two days up as days ("7d", "30d"), anything
// else as Go writes it without the zero units at the end ("24h", "1m",
// "1h30m", "90s" stays "1m30s", "1.5s"). time.Duration's own String writes
// a week as "168h0m0s".
func FormatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= 2*day && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	s := d.String()
	// "1h0m0s" → "1h0m" → "1h"; "10m0s" → "10m". A lone "0s" stays.
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
