package rotation

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// cronExpr is a Secrets Manager cron() schedule: cron(Minutes Hours
// Day-of-month Month Day-of-week Year), where Minutes must be 0 (windows
// open on the hour) and Year must be *, as the rotation schedule guide
// requires. Sets are bitmaps.
type cronExpr struct {
	hours  uint32 // bits 0-23
	months uint16 // bits 1-12
	// Day of month: a set (bits 1-31), or the last day (L), or any (?).
	dom     uint32
	domLast bool
	domAny  bool
	// Day of week (1 = Sunday ... 7 = Saturday): a set, or the last given
	// weekday of the month (5L), or the nth one (2#3), or any (?).
	dow     uint8
	dowLast int // weekday of "<d>L", 0 if none
	dowNth  [2]int
	dowAny  bool
}

var (
	monthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6,
		"JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
	dayNames = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
)

func parseCron(e string) (*cronExpr, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("ScheduleExpression is not a valid cron() expression: "+format, args...)
	}
	if !strings.HasPrefix(e, "cron(") || !strings.HasSuffix(e, ")") {
		return nil, errors.New("ScheduleExpression must be a rate() or cron() expression.")
	}
	f := strings.Fields(e[len("cron(") : len(e)-1])
	if len(f) != 6 {
		return nil, bad("it needs 6 fields (Minutes Hours Day-of-month Month Day-of-week Year), it has %d.", len(f))
	}
	if f[0] != "0" {
		return nil, bad("Minutes must be 0, rotation windows open on the hour.")
	}
	if f[5] != "*" {
		return nil, bad("Year must be *.")
	}
	c := &cronExpr{}
	h, err := parseSet(f[1], 0, 23, nil)
	if err != nil {
		return nil, bad("Hours: %v.", err)
	}
	c.hours = uint32(h)
	m, err := parseSet(f[3], 1, 12, monthNames)
	if err != nil {
		return nil, bad("Month: %v.", err)
	}
	c.months = uint16(m)
	switch {
	case f[2] == "?":
		c.domAny = true
	case f[2] == "L":
		c.domLast = true
	default:
		d, err := parseSet(f[2], 1, 31, nil)
		if err != nil {
			return nil, bad("Day-of-month: %v.", err)
		}
		c.dom = uint32(d)
	}
	dw := f[4]
	switch {
	case dw == "?":
		c.dowAny = true
	case dw == "L":
		c.dowLast = 7
	case strings.HasSuffix(dw, "L"):
		d, ok := weekday(strings.TrimSuffix(dw, "L"))
		if !ok {
			return nil, bad("Day-of-week: %q is not a weekday.", strings.TrimSuffix(dw, "L"))
		}
		c.dowLast = d
	case strings.Contains(dw, "#"):
		a, b, _ := strings.Cut(dw, "#")
		d, ok := weekday(a)
		n, err := strconv.Atoi(b)
		if !ok || err != nil || n < 1 || n > 5 {
			return nil, bad("Day-of-week: %q is not <weekday>#<1-5>.", dw)
		}
		c.dowNth = [2]int{d, n}
	default:
		d, err := parseSet(dw, 1, 7, dayNames)
		if err != nil {
			return nil, bad("Day-of-week: %v.", err)
		}
		c.dow = uint8(d)
	}
	if c.domAny == c.dowAny {
		return nil, bad("exactly one of Day-of-month and Day-of-week must be ?.")
	}
	return c, nil
}

func weekday(s string) (int, bool) {
	if d, ok := dayNames[strings.ToUpper(s)]; ok {
		return d, true
	}
	d, err := strconv.Atoi(s)
	return d, err == nil && d >= 1 && d <= 7
}

// parseSet parses a comma-separated list of *, n, a-b, with an optional
// /step, into a bitmap of values lo..hi.
func parseSet(f string, lo, hi int, names map[string]int) (uint64, error) {
	val := func(s string) (int, error) {
		if n, ok := names[strings.ToUpper(s)]; ok {
			return n, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("%q is not a value from %d to %d", s, lo, hi)
		}
		return n, nil
	}
	var set uint64
	for part := range strings.SplitSeq(f, ",") {
		rng, stepS, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepS)
			if err != nil || n < 1 || n > hi {
				return 0, fmt.Errorf("%q is not a valid step", stepS)
			}
			step = n
		}
		a, b := lo, hi
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			x, y, _ := strings.Cut(rng, "-")
			var err error
			if a, err = val(x); err != nil {
				return 0, err
			}
			if b, err = val(y); err != nil {
				return 0, err
			}
			if a > b {
				return 0, fmt.Errorf("range %q runs backwards", rng)
			}
		default:
			n, err := val(rng)
			if err != nil {
				return 0, err
			}
			a = n
			if !hasStep {
				b = n
			}
		}
		for v := a; v <= b; v += step {
			set |= 1 << v
		}
	}
	if set == 0 {
		return 0, errors.New("empty")
	}
	return set, nil
}

// hourly reports whether windows open more than once a day.
func (c *cronExpr) hourly() bool { return c.hours&(c.hours-1) != 0 }

func (c *cronExpr) firstHour() int {
	for h := range 24 {
		if c.hours&(1<<h) != 0 {
			return h
		}
	}
	return 0
}

// minHourGap is the shortest time between two windows of one day.
func (c *cronExpr) minHourGap() time.Duration {
	gap, prev := 24, -1
	for h := range 24 {
		if c.hours&(1<<h) != 0 {
			if prev >= 0 && h-prev < gap {
				gap = h - prev
			}
			prev = h
		}
	}
	return time.Duration(gap) * time.Hour
}

func (c *cronExpr) dayMatches(d time.Time) bool {
	if c.months&(1<<int(d.Month())) == 0 {
		return false
	}
	last := time.Date(d.Year(), d.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
	wd := int(d.Weekday()) + 1
	switch {
	case c.domLast:
		return d.Day() == last
	case !c.domAny:
		return c.dom&(1<<d.Day()) != 0
	case c.dowLast != 0:
		return wd == c.dowLast && d.Day()+7 > last
	case c.dowNth[0] != 0:
		return wd == c.dowNth[0] && (d.Day()-1)/7+1 == c.dowNth[1]
	default:
		return c.dow&(1<<wd) != 0
	}
}

// next returns the first window opening strictly after t, searching five
// years ahead (29 February, the 5th Friday of a month); zero if none.
func (c *cronExpr) next(t time.Time) time.Time {
	day := t.Truncate(24 * time.Hour)
	for i := 0; i < 5*366; i++ {
		d := day.AddDate(0, 0, i)
		if !c.dayMatches(d) {
			continue
		}
		for h := range 24 {
			if c.hours&(1<<h) == 0 {
				continue
			}
			if w := d.Add(time.Duration(h) * time.Hour); w.After(t) {
				return w
			}
		}
	}
	return time.Time{}
}
