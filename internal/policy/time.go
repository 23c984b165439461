package policy

import (
	"strconv"
	"strings"
)

// tval is an instant as seconds and nanoseconds since the Unix epoch.
type tval struct {
	sec  int64
	nsec int64
}

func (a tval) cmp(b tval) int {
	switch {
	case a.sec < b.sec:
		return -1
	case a.sec > b.sec:
		return 1
	case a.nsec < b.nsec:
		return -1
	case a.nsec > b.nsec:
		return 1
	}
	return 0
}

// parseTime reads the date forms IAM accepts for Date operators (IAM User
// Guide, "Date condition operators": W3C ISO 8601 date formats or epoch
// (UNIX) time): seconds since the epoch, YYYY-MM-DD, YYYY-MM-DDThh:mm,
// YYYY-MM-DDThh:mm:ss[.fraction], each with an optional Z or ±hh:mm
// offset (UTC when absent). It allocates nothing, unlike time.Parse with
// an offset.
func parseTime(s string) (tval, bool) {
	if s == "" {
		return tval{}, false
	}
	if isEpoch(s) {
		whole, frac, _ := strings.Cut(s, ".")
		sec, err := strconv.ParseInt(whole, 10, 64)
		if err != nil {
			return tval{}, false
		}
		ns, ok := fraction(frac)
		if !ok {
			return tval{}, false
		}
		if sec < 0 && ns > 0 {
			return tval{sec: sec - 1, nsec: 1e9 - ns}, true
		}
		return tval{sec: sec, nsec: ns}, true
	}
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return tval{}, false
	}
	y, ok1 := digits(s[0:4])
	mo, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || d < 1 || d > daysIn(mo, y) {
		return tval{}, false
	}
	sec := daysFromCivil(y, mo, d) * 86400
	rest := s[10:]
	if rest == "" {
		return tval{sec: sec}, true
	}
	if rest[0] != 'T' && rest[0] != 't' || len(rest) < 6 || rest[3] != ':' {
		return tval{}, false
	}
	h, ok1 := digits(rest[1:3])
	mi, ok2 := digits(rest[4:6])
	if !ok1 || !ok2 || h > 23 || mi > 59 {
		return tval{}, false
	}
	sec += int64(h)*3600 + int64(mi)*60
	rest = rest[6:]
	var ns int64
	if len(rest) >= 3 && rest[0] == ':' {
		ss, ok := digits(rest[1:3])
		if !ok || ss > 60 {
			return tval{}, false
		}
		sec += int64(ss)
		rest = rest[3:]
		if len(rest) > 0 && rest[0] == '.' {
			i := 1
			for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
				i++
			}
			var ok bool
			if ns, ok = fraction(rest[1:i]); !ok || i == 1 {
				return tval{}, false
			}
			rest = rest[i:]
		}
	}
	switch {
	case rest == "" || rest == "Z" || rest == "z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':',
		len(rest) == 5 && (rest[0] == '+' || rest[0] == '-'):
		oh, ok1 := digits(rest[1:3])
		om, ok2 := digits(rest[len(rest)-2:])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return tval{}, false
		}
		off := int64(oh)*3600 + int64(om)*60
		if rest[0] == '+' {
			sec -= off
		} else {
			sec += off
		}
	default:
		return tval{}, false
	}
	return tval{sec: sec, nsec: ns}, true
}

func isEpoch(s string) bool {
	i := 0
	if s[0] == '-' {
		i = 1
	}
	if i == len(s) {
		return false
	}
	dot := false
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return true
}

func fraction(f string) (int64, bool) {
	var ns int64
	for i := 0; i < 9; i++ {
		ns *= 10
		if i < len(f) {
			c := f[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			ns += int64(c - '0')
		}
	}
	for i := 9; i < len(f); i++ {
		if f[i] < '0' || f[i] > '9' {
			return 0, false
		}
	}
	return ns, true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func daysIn(m, y int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil counts days from 1970-01-01 to y-m-d in the proleptic
// Gregorian calendar (Howard Hinnant's published algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
