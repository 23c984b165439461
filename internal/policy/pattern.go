package policy

import (
	"strings"
	"unicode/utf8"

	"github.com/bulwark-security/bulwark/internal/arn"
)

type tokKind uint8

const (
	tLit tokKind = iota
	tStar
	tQmark
	tVar
)

type tok struct {
	kind   tokKind
	s      string // literal text, or the variable's key
	def    string
	hasDef bool
	hash   uint64
	// multi is set when the key is a multivalued context key, which never
	// substitutes (see multiValuedKeys).
	multi bool
}

// vpat is a string pattern that may hold wildcards and policy variables.
// Patterns with neither are matched by plain comparison.
type vpat struct {
	raw    string
	toks   []tok
	hasVar bool
	wild   bool // has * or ? wildcards
	// tokens is set when toks differ from raw (variables or ${*}-style
	// escapes), so raw cannot be compared directly.
	tokens bool
}

// compilePattern splits s into tokens. vars enables ${...} policy variables
// (Version 2012-10-17 only); wild makes * and ? wildcards.
func compilePattern(s string, vars, wild bool) vpat {
	p := vpat{raw: s}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p.toks = append(p.toks, tok{kind: tLit, s: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if vars && c == '$' && i+1 < len(s) && s[i+1] == '{' {
			if t, n, ok := parseVariable(s[i:]); ok {
				p.tokens = true
				if t.kind == tLit {
					lit.WriteString(t.s)
				} else {
					flush()
					p.toks = append(p.toks, t)
					p.hasVar = true
				}
				i += n
				continue
			}
		}
		if wild && (c == '*' || c == '?') {
			flush()
			k := tStar
			if c == '?' {
				k = tQmark
			}
			p.toks = append(p.toks, tok{kind: k})
			p.wild = true
			i++
			continue
		}
		lit.WriteByte(c)
		i++
	}
	flush()
	return p
}

// maxVariableLen bounds the length of one ${...} policy variable.
const maxVariableLen = 512

// parseVariable reads "${key}" or "${key, 'default'}" at the start of s
// (IAM User Guide, "Policy variables" and "Specifying default values":
// ${*}, ${?} and ${$} stand for the literal characters; a doubled single quote
// inside a default stands for one). It returns the token and the bytes consumed.
func parseVariable(s string) (tok, int, bool) {
	inQuote := false
	end := -1
	// Bound the scan so that a value full of unterminated "${" stays
	// linear to compile.
	for i := 2; i < len(s) && i < maxVariableLen; i++ {
		switch s[i] {
		case '\'':
			inQuote = !inQuote // '' toggles twice, staying inside
		case '}':
			if !inQuote {
				end = i
			}
		}
		if end >= 0 {
			break
		}
	}
	if end < 0 {
		return tok{}, 0, false
	}
	inner := strings.TrimSpace(s[2:end])
	switch inner {
	case "*", "?", "$":
		return tok{kind: tLit, s: inner}, end + 1, true
	case "":
		return tok{}, 0, false
	}
	t := tok{kind: tVar}
	key, def, hasDef := strings.Cut(inner, ",")
	key = strings.TrimSpace(key)
	if key == "" || strings.ContainsAny(key, " '${}") {
		return tok{}, 0, false
	}
	if hasDef {
		def = strings.TrimSpace(def)
		if len(def) < 2 || def[0] != '\'' || def[len(def)-1] != '\'' {
			return tok{}, 0, false
		}
		body := def[1 : len(def)-1]
		// Reject a lone quote inside the default.
		if strings.Count(strings.ReplaceAll(body, "''", ""), "'") != 0 {
			return tok{}, 0, false
		}
		t.def, t.hasDef = strings.ReplaceAll(body, "''", "'"), true
	}
	t.s, t.hash, t.multi = key, keyHash(key), isMultiValuedKey(key)
	return t, end + 1, true
}

// needsVar reports whether p holds a variable without a default, which
// makes p unresolvable when the variable's key cannot be substituted.
func (p *vpat) needsVar() bool {
	for i := range p.toks {
		if p.toks[i].kind == tVar && !p.toks[i].hasDef {
			return true
		}
	}
	return false
}

// resolvable reports whether every variable of p can be substituted,
// recording absent keys as missing. It looks at every variable, so the
// answer does not depend on how far a match would have read.
func (p *vpat) resolvable(ev *evaluator) bool {
	ok := true
	for i := range p.toks {
		if t := &p.toks[i]; t.kind == tVar && !t.hasDef {
			if _, r := ev.variable(t); !r {
				ok = false
			}
		}
	}
	return ok
}

// match reports whether s matches p. fold makes literal comparison
// case-insensitive. An unresolvable variable makes the match fail and is
// recorded as a missing key.
func (p *vpat) match(s string, fold bool, ev *evaluator) bool {
	if !p.tokens {
		if !p.wild {
			if fold {
				return strings.EqualFold(p.raw, s)
			}
			return p.raw == s
		}
		if fold {
			return arn.GlobFold(p.raw, s)
		}
		return arn.Glob(p.raw, s)
	}
	ti, si := 0, 0
	starT, starS := -1, 0
	for si < len(s) || ti < len(p.toks) {
		if ti < len(p.toks) {
			t := &p.toks[ti]
			switch t.kind {
			case tStar:
				starT, starS = ti+1, si
				ti++
				continue
			case tQmark:
				if si < len(s) {
					_, n := utf8.DecodeRuneInString(s[si:])
					si += n
					ti++
					continue
				}
			default:
				lit := t.s
				if t.kind == tVar {
					v, ok := ev.variable(t)
					if !ok {
						if !ev.loose {
							return false
						}
						// Loose: the variable could hold anything.
						starT, starS = ti+1, si
						ti++
						continue
					}
					lit = v
				}
				if len(s)-si >= len(lit) && (s[si:si+len(lit)] == lit || fold && strings.EqualFold(s[si:si+len(lit)], lit)) {
					si += len(lit)
					ti++
					continue
				}
			}
		}
		if starT >= 0 && starS < len(s) {
			_, n := utf8.DecodeRuneInString(s[starS:])
			starS += n
			ti, si = starT, starS
			continue
		}
		return false
	}
	return true
}

// arnPat is a Resource entry or ArnLike value: "*" or an ARN pattern
// matched component by component.
type arnPat struct {
	all    bool
	raw    string
	hasVar bool
	segs   []vpat // only when hasVar
	// When the first five components hold no wildcard, head is them with
	// their colons and tail the resource component: a match is then a
	// prefix comparison and one glob.
	head, tail string
	tailWild   bool
	tailPrefix bool // tail is a literal followed by one trailing '*'
}

func compileARN(s string, vars bool) arnPat {
	if s == "*" {
		return arnPat{all: true, raw: s}
	}
	p := arnPat{raw: s}
	if !vars || !strings.Contains(s, "${") {
		p.splitHead()
		return p
	}
	whole := compilePattern(s, true, true)
	if !whole.tokens {
		return p
	}
	p.hasVar = true
	// Split on the first five colons that are outside ${...}.
	depth, start := 0, 0
	for i := 0; i < len(s) && len(p.segs) < 5; i++ {
		switch s[i] {
		case '{':
			if i > 0 && s[i-1] == '$' {
				depth++
			}
		case '}':
			if depth > 0 {
				depth--
			}
		case ':':
			if depth == 0 {
				p.segs = append(p.segs, compilePattern(s[start:i], true, true))
				start = i + 1
			}
		}
	}
	p.segs = append(p.segs, compilePattern(s[start:], true, true))
	return p
}

// needsVar is vpat.needsVar for every component.
func (p *arnPat) needsVar() bool {
	for i := range p.segs {
		if p.segs[i].needsVar() {
			return true
		}
	}
	return false
}

// resolvable is vpat.resolvable for every component.
func (p *arnPat) resolvable(ev *evaluator) bool {
	ok := true
	for i := range p.segs {
		if !p.segs[i].resolvable(ev) {
			ok = false
		}
	}
	return ok
}

// mayMatch reports, for an entry whose strict match failed, whether v
// could be in the entry's set were its unresolvable variables known. v is
// outside only when a component before the resource differs (partition,
// service, region, account, with the variables read as "*"), or the
// resource component names another resource type: the text up to its
// first '/' or ':' (none for S3 bucket and object ARNs). Otherwise an
// unresolvable variable in the resource component leaves v undecided.
// This follows @cloud-copilot/iam-simulate's reading of "the entire
// statement may be invalid".
func (p *arnPat) mayMatch(v string, ev *evaluator) bool {
	if !p.hasVar || len(p.segs) != 6 {
		return false
	}
	for i := 0; i < 5; i++ {
		j := strings.IndexByte(v, ':')
		if j < 0 {
			return false
		}
		ev.loose = true
		m := p.segs[i].match(v[:j], false, ev)
		ev.loose = false
		if !m {
			return false
		}
		v = v[j+1:]
	}
	res := &p.segs[5]
	if res.resolvable(ev) {
		return res.match(v, false, ev)
	}
	typ := ""
	if !(p.segs[2].raw == "s3" && p.segs[3].raw == "" && p.segs[4].raw == "") {
		if k := strings.IndexAny(res.raw, "/:"); k >= 0 {
			typ = res.raw[:k+1]
		}
	}
	if strings.ContainsAny(typ, "*?$") {
		return true // a wildcard or variable in the type: undecided
	}
	return strings.HasPrefix(v, typ)
}

func (p *arnPat) match(v string, ev *evaluator) bool {
	if p.all {
		return true
	}
	if !p.hasVar {
		if p.head != "" {
			if len(v) < len(p.head) || v[:len(p.head)] != p.head {
				return false
			}
			rest := v[len(p.head):]
			switch {
			case !p.tailWild:
				return rest == p.tail
			case p.tailPrefix:
				n := len(p.tail) - 1
				return len(rest) >= n && rest[:n] == p.tail[:n]
			}
			return arn.Glob(p.tail, rest)
		}
		return arn.Match(p.raw, v)
	}
	for i := range p.segs {
		seg := &p.segs[i]
		last := i == len(p.segs)-1
		vj := strings.IndexByte(v, ':')
		if last {
			if i < 5 && !seg.wild && vj >= 0 {
				return false
			}
			return seg.match(v, false, ev)
		}
		if vj < 0 {
			return false
		}
		if !seg.match(v[:vj], false, ev) {
			return false
		}
		v = v[vj+1:]
	}
	return false
}

func (p *arnPat) splitHead() {
	n, i := 0, 0
	for ; i < len(p.raw) && n < 5; i++ {
		switch p.raw[i] {
		case ':':
			n++
		case '*', '?':
			return
		}
	}
	if n == 5 {
		p.head, p.tail = p.raw[:i], p.raw[i:]
		p.tailWild = strings.ContainsAny(p.tail, "*?")
		p.tailPrefix = isPrefixPattern(p.tail)
	}
}

// eqLower reports whether s equals lower, which is already in lower case,
// ignoring ASCII case in s; non-ASCII input falls back to strings.EqualFold.
func eqLower(lower, s string) bool {
	if len(lower) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return strings.EqualFold(lower, s)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// isPrefixPattern reports whether the only wildcard of s is one trailing
// '*', so that matching it is a prefix comparison.
func isPrefixPattern(s string) bool {
	return strings.HasSuffix(s, "*") && !strings.ContainsAny(s[:len(s)-1], "*?")
}
