package rotation

import (
	"testing"
	"time"
)

func TestParseRules(t *testing.T) {
	tests := []struct {
		name  string
		rules Rules
		ok    bool
	}{
		{"empty", Rules{}, true},
		{"after days", Rules{AutomaticallyAfterDays: 30}, true},
		{"after days min", Rules{AutomaticallyAfterDays: 1}, true},
		{"after days max", Rules{AutomaticallyAfterDays: 1000}, true},
		{"after days zero is unset", Rules{AutomaticallyAfterDays: 0}, true},
		{"after days too many", Rules{AutomaticallyAfterDays: 1001}, false},
		{"after days negative", Rules{AutomaticallyAfterDays: -1}, false},
		{"both", Rules{AutomaticallyAfterDays: 3, ScheduleExpression: "rate(3 days)"}, false},
		{"duration alone", Rules{Duration: "3h"}, false},
		{"rate days", Rules{ScheduleExpression: "rate(10 days)"}, true},
		{"rate day", Rules{ScheduleExpression: "rate(1 day)"}, true},
		{"rate hours", Rules{ScheduleExpression: "rate(4 hours)"}, true},
		{"rate hour", Rules{ScheduleExpression: "rate(23 hour)"}, true},
		{"rate 3 hours", Rules{ScheduleExpression: "rate(3 hours)"}, false},
		{"rate 24 hours", Rules{ScheduleExpression: "rate(24 hours)"}, false},
		{"rate 1000 days", Rules{ScheduleExpression: "rate(1000 days)"}, false},
		{"rate zero days", Rules{ScheduleExpression: "rate(0 days)"}, false},
		{"rate minutes", Rules{ScheduleExpression: "rate(5 minutes)"}, false},
		{"rate spaces", Rules{ScheduleExpression: "rate( 5 days)"}, false},
		{"cron daily", Rules{ScheduleExpression: "cron(0 16 * * ? *)"}, true},
		{"cron hours step", Rules{ScheduleExpression: "cron(0 4/12 * * ? *)"}, true},
		{"cron last day", Rules{ScheduleExpression: "cron(0 16 L * ? *)"}, true},
		{"cron first sunday", Rules{ScheduleExpression: "cron(0 0 ? * SUN#1 *)"}, true},
		{"cron last friday", Rules{ScheduleExpression: "cron(0 8 ? * 6L *)"}, true},
		{"cron months", Rules{ScheduleExpression: "cron(0 8 1,15 JAN-MAR,OCT ? *)"}, true},
		{"cron dom step", Rules{ScheduleExpression: "cron(0 8 1/7 * ? *)"}, true},
		{"cron minutes", Rules{ScheduleExpression: "cron(30 8 * * ? *)"}, false},
		{"cron year", Rules{ScheduleExpression: "cron(0 8 * * ? 2027)"}, false},
		{"cron both days", Rules{ScheduleExpression: "cron(0 8 * * MON *)"}, false},
		{"cron no days", Rules{ScheduleExpression: "cron(0 8 ? * ? *)"}, false},
		{"cron 5 fields", Rules{ScheduleExpression: "cron(0 8 * * ?)"}, false},
		{"cron hour 24", Rules{ScheduleExpression: "cron(0 24 * * ? *)"}, false},
		{"cron backwards", Rules{ScheduleExpression: "cron(0 8-4 * * ? *)"}, false},
		{"cron bad weekday", Rules{ScheduleExpression: "cron(0 8 ? * FUNDAY *)"}, false},
		{"cron nth 6", Rules{ScheduleExpression: "cron(0 8 ? * MON#6 *)"}, false},
		{"neither", Rules{ScheduleExpression: "every day"}, false},
		{"bad chars", Rules{ScheduleExpression: "rate(1 day);"}, false},
		{"duration ok", Rules{ScheduleExpression: "rate(1 day)", Duration: "3h"}, true},
		{"duration 24h", Rules{AutomaticallyAfterDays: 1, Duration: "24h"}, true},
		{"duration 25h", Rules{AutomaticallyAfterDays: 1, Duration: "25h"}, false},
		{"duration 0h", Rules{AutomaticallyAfterDays: 1, Duration: "0h"}, false},
		{"duration no unit", Rules{AutomaticallyAfterDays: 1, Duration: "3"}, false},
		{"duration minutes", Rules{AutomaticallyAfterDays: 1, Duration: "30m"}, false},
		{"window into next day", Rules{ScheduleExpression: "cron(0 22 * * ? *)", Duration: "3h"}, false},
		{"window fits day", Rules{ScheduleExpression: "cron(0 21 * * ? *)", Duration: "3h"}, true},
		{"window into next hourly window", Rules{ScheduleExpression: "rate(4 hours)", Duration: "5h"}, false},
		{"window fits hourly", Rules{ScheduleExpression: "rate(4 hours)", Duration: "4h"}, true},
		{"cron window into next window", Rules{ScheduleExpression: "cron(0 4/6 * * ? *)", Duration: "7h"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRules(tt.rules)
			if (err == nil) != tt.ok {
				t.Errorf("ParseRules(%+v) = %v, want ok=%v", tt.rules, err, tt.ok)
			}
		})
	}
}

func TestScheduleNext(t *testing.T) {
	// 2026-03-14 is a Saturday.
	last := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	tests := []struct {
		expr       Rules
		want       string
		windowEnds string
	}{
		{Rules{AutomaticallyAfterDays: 30}, "2026-04-13T00:00:00Z", "2026-04-14T00:00:00Z"},
		{Rules{AutomaticallyAfterDays: 1, Duration: "2h"}, "2026-03-15T00:00:00Z", "2026-03-15T02:00:00Z"},
		{Rules{ScheduleExpression: "rate(10 days)"}, "2026-03-24T00:00:00Z", "2026-03-25T00:00:00Z"},
		{Rules{ScheduleExpression: "rate(4 hours)"}, "2026-03-14T16:00:00Z", "2026-03-14T17:00:00Z"},
		{Rules{ScheduleExpression: "rate(5 hours)"}, "2026-03-14T20:00:00Z", "2026-03-14T21:00:00Z"},
		{Rules{ScheduleExpression: "rate(12 hours)"}, "2026-03-15T00:00:00Z", "2026-03-15T01:00:00Z"},
		{Rules{ScheduleExpression: "cron(0 16 * * ? *)"}, "2026-03-14T16:00:00Z", "2026-03-15T00:00:00Z"},
		{Rules{ScheduleExpression: "cron(0 15 * * ? *)"}, "2026-03-15T15:00:00Z", "2026-03-16T00:00:00Z"},
		{Rules{ScheduleExpression: "cron(0 4/12 * * ? *)"}, "2026-03-14T16:00:00Z", "2026-03-14T17:00:00Z"},
		{Rules{ScheduleExpression: "cron(0 16 L * ? *)"}, "2026-03-31T16:00:00Z", "2026-04-01T00:00:00Z"},
		{Rules{ScheduleExpression: "cron(0 0 ? * SUN#1 *)"}, "2026-04-05T00:00:00Z", "2026-04-06T00:00:00Z"},
		{Rules{ScheduleExpression: "cron(0 8 ? * 6L *)"}, "2026-03-27T08:00:00Z", "2026-03-28T00:00:00Z"},
		{Rules{ScheduleExpression: "cron(0 8 ? * MON-FRI *)"}, "2026-03-16T08:00:00Z", "2026-03-17T00:00:00Z"},
		{Rules{ScheduleExpression: "cron(0 9 29 FEB ? *)"}, "2028-02-29T09:00:00Z", "2028-03-01T00:00:00Z"},
		{Rules{ScheduleExpression: "cron(0 9 1 JAN,JUL ? *)", Duration: "4h"}, "2026-07-01T09:00:00Z", "2026-07-01T13:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.expr.ScheduleExpression+tt.expr.Duration, func(t *testing.T) {
			s, err := ParseRules(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			got := s.Next(last)
			if got.Format(time.RFC3339) != tt.want {
				t.Errorf("Next = %s, want %s", got.Format(time.RFC3339), tt.want)
			}
			if end := s.WindowEnd(got); end.Format(time.RFC3339) != tt.windowEnds {
				t.Errorf("WindowEnd = %s, want %s", end.Format(time.RFC3339), tt.windowEnds)
			}
		})
	}
	if !(Schedule{}).Next(last).IsZero() {
		t.Error("zero schedule has a next rotation")
	}
}

func FuzzParseRules(f *testing.F) {
	for _, s := range []string{"rate(4 hours)", "rate(10 days)", "cron(0 4/12 * * ? *)", "cron(0 16 L * ? *)",
		"cron(0 0 ? * SUN#1 *)", "cron(0 8 ? * 6L *)", "cron(0 8 1-31/2 JAN-DEC ? *)", "cron(0 */5 ? * 1-7 *)"} {
		f.Add(s, "3h", int64(0))
	}
	f.Add("", "", int64(30))
	f.Fuzz(func(t *testing.T, expr, duration string, days int64) {
		s, err := ParseRules(Rules{AutomaticallyAfterDays: days, Duration: duration, ScheduleExpression: expr})
		if err != nil {
			return
		}
		last := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
		next := s.Next(last)
		if s.IsZero() {
			if !next.IsZero() {
				t.Fatalf("zero schedule gives %v", next)
			}
			return
		}
		if next.IsZero() && s.cron == nil {
			t.Fatalf("%q: no next rotation", expr)
		}
		if !next.IsZero() {
			if !next.After(last) || next.Minute() != 0 || next.Second() != 0 {
				t.Fatalf("%q: next %v is not an hour after %v", expr, next, last)
			}
			if end := s.WindowEnd(next); !end.After(next) {
				t.Fatalf("%q: window ends at %v before it opens at %v", expr, end, next)
			}
		}
	})
}
