package rotation

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Rules is RotateSecret's RotationRules as the wire carries it.
type Rules struct {
	AutomaticallyAfterDays int64  `json:"AutomaticallyAfterDays,omitempty"`
	Duration               string `json:"Duration,omitempty"`
	ScheduleExpression     string `json:"ScheduleExpression,omitempty"`
}

// IsZero reports whether no rule is set.
func (r Rules) IsZero() bool { return r == Rules{} }

// Schedule is a validated rotation schedule: when rotation windows open and
// how long they stay open. The zero Schedule never rotates.
type Schedule struct {
	// every is the period of an interval schedule (AutomaticallyAfterDays,
	// rate()); zero for cron.
	every time.Duration
	cron  *cronExpr
	// window is the window's length; zero means the default (one hour for
	// schedules in hours, to the end of the UTC day for schedules in days).
	window time.Duration
	hourly bool
}

// Limits of the API reference and the rotation schedule guide.
const (
	minAfterDays = 1
	maxAfterDays = 1000
	minRateHours = 4
	maxRateHours = 23
	maxRateDays  = 999
	maxExprLen   = 256
)

var (
	durationRE = regexp.MustCompile(`^[0-9]{1,2}h$`)
	rateRE     = regexp.MustCompile(`^rate\(([0-9]{1,4}) (hour|hours|day|days)\)$`)
	exprCharRE = regexp.MustCompile(`^[0-9A-Za-z()#?*\-/, ]+$`)
)

// ParseRules validates rules as RotateSecret does; the error's text is the
// InvalidParameterException message.
func ParseRules(r Rules) (Schedule, error) {
	var s Schedule
	switch {
	case r.AutomaticallyAfterDays != 0 && r.ScheduleExpression != "":
		return s, errors.New("You can't specify both AutomaticallyAfterDays and ScheduleExpression in RotationRules.")
	case r.AutomaticallyAfterDays != 0:
		if r.AutomaticallyAfterDays < minAfterDays || r.AutomaticallyAfterDays > maxAfterDays {
			return s, fmt.Errorf("AutomaticallyAfterDays must be between %d and %d.", minAfterDays, maxAfterDays)
		}
		s.every = time.Duration(r.AutomaticallyAfterDays) * 24 * time.Hour
	case r.ScheduleExpression != "":
		e := r.ScheduleExpression
		if len(e) > maxExprLen || !exprCharRE.MatchString(e) {
			return s, errors.New("ScheduleExpression is not a valid rate() or cron() expression.")
		}
		if strings.HasPrefix(e, "rate(") {
			m := rateRE.FindStringSubmatch(e)
			if m == nil {
				return s, errors.New("A rate() expression must be rate(<value> <unit>) with a positive integer value and a unit of hour, hours, day or days.")
			}
			n, _ := strconv.Atoi(m[1]) // at most 4 digits
			if strings.HasPrefix(m[2], "hour") {
				if n < minRateHours || n > maxRateHours {
					return s, fmt.Errorf("A rate() expression in hours must be between %d and %d hours.", minRateHours, maxRateHours)
				}
				s.every, s.hourly = time.Duration(n)*time.Hour, true
			} else {
				if n < 1 || n > maxRateDays {
					return s, fmt.Errorf("A rate() expression in days must be between 1 and %d days.", maxRateDays)
				}
				s.every = time.Duration(n) * 24 * time.Hour
			}
		} else {
			c, err := parseCron(e)
			if err != nil {
				return s, err
			}
			s.cron, s.hourly = c, c.hourly()
		}
	default:
		if r.Duration != "" {
			return s, errors.New("Duration requires AutomaticallyAfterDays or ScheduleExpression in RotationRules.")
		}
		return s, nil
	}
	if r.Duration != "" {
		if !durationRE.MatchString(r.Duration) {
			return s, errors.New("Duration must be a number of hours followed by h, for example 3h.")
		}
		h, _ := strconv.Atoi(strings.TrimSuffix(r.Duration, "h"))
		if h < 1 || h > 24 {
			return s, errors.New("Duration must be between 1h and 24h.")
		}
		s.window = time.Duration(h) * time.Hour
		if err := s.checkWindow(); err != nil {
			return s, err
		}
	}
	return s, nil
}

// checkWindow refuses a window that runs into the next window or, for
// schedules in days, into the next UTC day.
func (s Schedule) checkWindow() error {
	if s.hourly {
		gap := s.every
		if s.cron != nil {
			gap = s.cron.minHourGap()
		}
		if s.window > gap {
			return errors.New("The rotation window (Duration) must not extend into the next rotation window.")
		}
		return nil
	}
	start := 0
	if s.cron != nil {
		start = s.cron.firstHour()
	}
	if time.Duration(start)*time.Hour+s.window > 24*time.Hour {
		return errors.New("The rotation window (Duration) must not extend into the next UTC day.")
	}
	return nil
}

// IsZero reports whether the schedule never rotates.
func (s Schedule) IsZero() bool { return s.every == 0 && s.cron == nil }

// Next returns when the first rotation window after last opens: windows
// open on the hour, at midnight UTC for schedules in days. Zero if the
// schedule never rotates.
func (s Schedule) Next(last time.Time) time.Time {
	last = last.UTC()
	switch {
	case s.cron != nil:
		return s.cron.next(last)
	case s.every == 0:
		return time.Time{}
	case s.hourly:
		// Windows open at midnight and every period after it, each day.
		day := last.Truncate(24 * time.Hour)
		for t := day; t.Before(day.Add(24 * time.Hour)); t = t.Add(s.every) {
			if t.After(last) {
				return t
			}
		}
		return day.Add(24 * time.Hour)
	default:
		return last.Truncate(24 * time.Hour).Add(s.every)
	}
}

// WindowEnd returns when the window that opened at start closes.
func (s Schedule) WindowEnd(start time.Time) time.Time {
	if s.window != 0 {
		return start.Add(s.window)
	}
	if s.hourly {
		return start.Add(time.Hour)
	}
	return start.Truncate(24 * time.Hour).Add(24 * time.Hour)
}
