package keyward

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration that reads and writes JSON as people write
// durations: written in its largest whole unit ("7d", "24h", "90m", "30s";
// see Human), read in that form, as a Go duration string ("168h0m0s",
// "1h30m") or with whole days in front ("1d12h").
type Duration time.Duration

// DurationPattern is the shape of the strings ParseDuration reads, for the
// OpenAPI document: whole days ("7d"), a Go duration ("90s", "1h30m",
// "1.5h") or both ("1d12h"). ParseDuration also bounds the days (36500 at
// most) and the total, which the pattern does not.
const DurationPattern = `^(?:\+?[0-9]+d(?:` + goDuration + `)?|\+?` + goDuration + `)$`

// goDuration is a duration string of time.ParseDuration without a sign.
const goDuration = `(?:0|(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+)`

// day is the unit "d" stands for.
const day = 24 * time.Hour

// ParseDuration parses "7d", "24h", "1h30m", "1d12h" or any Go duration
// string. Negative durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("invalid duration %q", s)
	var days time.Duration
	if before, after, ok := strings.Cut(s, "d"); ok {
		n, err := strconv.Atoi(before)
		if err != nil || n < 0 || n > 36500 {
			return 0, bad
		}
		days, s = time.Duration(n)*day, after
		if s == "" {
			return days, nil
		}
		if s[0] == '+' || s[0] == '-' { // "1d-5h" is no duration anyone writes
			return 0, bad
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || days+d < days { // the last: too long to count
		return 0, bad
	}
	return days + d, nil
}

// Human writes d as people write it, in its largest whole unit: "7d",
// "24h" (a single day stays in hours, as it is usually said), "90m",
// "30s"; anything else as Go writes it ("1h30m1s", "1.5s"). ParseDuration reads
// every form back, and so do keyward versions that only knew Go's
// durations and whole days.
func (d Duration) Human() string {
	v := time.Duration(d)
	switch {
	case v <= 0:
		return "0s"
	case v%day == 0 && v > day:
		return strconv.FormatInt(int64(v/day), 10) + "d"
	case v%time.Hour == 0:
		return strconv.FormatInt(int64(v/time.Hour), 10) + "h"
	case v%time.Minute == 0:
		return strconv.FormatInt(int64(v/time.Minute), 10) + "m"
	case v%time.Second == 0 && v < time.Hour:
		return strconv.FormatInt(int64(v/time.Second), 10) + "s"
	}
	return v.String()
}

// MarshalJSON writes the duration as a string, in its Human form.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.Human())
}

// UnmarshalJSON reads a duration string. What it refuses is a
// *json.UnmarshalTypeError, which encoding/json fills in with the
// member's name, so that the error names the field it is about.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	err := json.Unmarshal(b, &s)
	var v time.Duration
	if err == nil {
		v, err = ParseDuration(s)
	}
	if err != nil {
		return &json.UnmarshalTypeError{Value: "value", Type: reflect.TypeFor[Duration]()}
	}
	*d = Duration(v)
	return nil
}

// DurationProblem is what a request is told of a value that is not a
// duration.
const DurationProblem = `must be a duration such as "24h", "7d" or "90m"`

// Std returns the duration as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }
