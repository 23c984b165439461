package respond

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Pattern is an EventBridge-style event pattern over a finding's ASFF JSON.
// An object names fields; a field's value is either a nested pattern or a
// list of matchers, any of which may match ("Severity": {"Label": ["HIGH",
// "CRITICAL"]}). Where the finding holds a list (Types, Resources), the
// pattern matches if any element does. Matchers are literal strings,
// numbers, booleans or null, or one of:
//
//	{"prefix": "TTPs/"}               string prefix
//	{"suffix": ".example"}            string suffix
//	{"equals-ignore-case": "high"}    case-insensitive equality
//	{"anything-but": ["LOW", ...]}    none of the values (or one value)
//	{"exists": true|false}            field present or absent
//	{"numeric": [">=", 70, "<", 90]}  numeric comparisons, all must hold
//
// Every field of the pattern must match.
type Pattern struct {
	fields map[string]*node
}

type node struct {
	object   *Pattern
	matchers []matcher
}

type matcher struct {
	kind    string // "literal", "prefix", "suffix", "equals-ignore-case", "anything-but", "exists", "numeric"
	literal any
	str     string
	many    []any
	exists  bool
	numeric []numCmp
}

type numCmp struct {
	op string
	v  float64
}

// Limits keep a pattern cheap to evaluate.
const (
	maxPatternDepth  = 8
	maxPatternLeaves = 256
)

// ParsePattern parses and validates a pattern.
func ParsePattern(raw json.RawMessage) (*Pattern, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("pattern is not JSON: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok || len(obj) == 0 {
		return nil, errors.New("pattern must be a non-empty JSON object")
	}
	leaves := 0
	return parseObject(obj, 1, &leaves)
}

func parseObject(obj map[string]any, depth int, leaves *int) (*Pattern, error) {
	if depth > maxPatternDepth {
		return nil, fmt.Errorf("pattern nests deeper than %d levels", maxPatternDepth)
	}
	p := &Pattern{fields: make(map[string]*node, len(obj))}
	for k, v := range obj {
		switch v := v.(type) {
		case map[string]any:
			if len(v) == 0 {
				return nil, fmt.Errorf("pattern field %q: empty object", k)
			}
			sub, err := parseObject(v, depth+1, leaves)
			if err != nil {
				return nil, err
			}
			p.fields[k] = &node{object: sub}
		case []any:
			if len(v) == 0 {
				return nil, fmt.Errorf("pattern field %q: empty list matches nothing", k)
			}
			n := &node{}
			for _, m := range v {
				*leaves++
				if *leaves > maxPatternLeaves {
					return nil, fmt.Errorf("pattern has more than %d values", maxPatternLeaves)
				}
				pm, err := parseMatcher(m)
				if err != nil {
					return nil, fmt.Errorf("pattern field %q: %w", k, err)
				}
				n.matchers = append(n.matchers, pm)
			}
			p.fields[k] = n
		default:
			return nil, fmt.Errorf("pattern field %q: value must be an object or a list", k)
		}
	}
	return p, nil
}

func parseMatcher(m any) (matcher, error) {
	obj, ok := m.(map[string]any)
	if !ok {
		switch m.(type) {
		case string, float64, bool, nil:
			return matcher{kind: "literal", literal: m}, nil
		}
		return matcher{}, errors.New("a matcher is a string, number, boolean, null or an operator object")
	}
	if len(obj) != 1 {
		return matcher{}, errors.New("an operator object has exactly one key")
	}
	for op, arg := range obj {
		switch op {
		case "prefix", "suffix", "equals-ignore-case":
			s, ok := arg.(string)
			if !ok {
				return matcher{}, fmt.Errorf("%s takes a string", op)
			}
			return matcher{kind: op, str: s}, nil
		case "anything-but":
			switch a := arg.(type) {
			case []any:
				for _, x := range a {
					if _, ok := x.(map[string]any); ok {
						return matcher{}, errors.New("anything-but takes values")
					}
				}
				return matcher{kind: op, many: a}, nil
			case string, float64:
				return matcher{kind: op, many: []any{a}}, nil
			}
			return matcher{}, errors.New("anything-but takes a value or a list of values")
		case "exists":
			b, ok := arg.(bool)
			if !ok {
				return matcher{}, errors.New("exists takes true or false")
			}
			return matcher{kind: op, exists: b}, nil
		case "numeric":
			a, ok := arg.([]any)
			if !ok || len(a) == 0 || len(a)%2 != 0 || len(a) > 4 {
				return matcher{}, errors.New(`numeric takes one or two [operator, number] pairs`)
			}
			var cmps []numCmp
			for i := 0; i < len(a); i += 2 {
				op, ok1 := a[i].(string)
				v, ok2 := a[i+1].(float64)
				if !ok1 || !ok2 {
					return matcher{}, errors.New(`numeric takes [operator, number] pairs`)
				}
				switch op {
				case "=", "<", "<=", ">", ">=":
				default:
					return matcher{}, fmt.Errorf("numeric operator %q", op)
				}
				cmps = append(cmps, numCmp{op: op, v: v})
			}
			return matcher{kind: op, numeric: cmps}, nil
		default:
			return matcher{}, fmt.Errorf("unknown operator %q", op)
		}
	}
	return matcher{}, errors.New("empty operator")
}

// Match reports whether the finding (decoded JSON object) matches.
func (p *Pattern) Match(doc map[string]any) bool {
	for k, n := range p.fields {
		v, present := doc[k]
		if !n.match(v, present) {
			return false
		}
	}
	return true
}

func (n *node) match(v any, present bool) bool {
	if n.object != nil {
		switch v := v.(type) {
		case map[string]any:
			return n.object.Match(v)
		case []any:
			for _, e := range v {
				if o, ok := e.(map[string]any); ok && n.object.Match(o) {
					return true
				}
			}
		}
		return false
	}
	for _, m := range n.matchers {
		if m.kind == "exists" {
			// A null or an empty list counts as absent.
			if has := present && v != nil && !isEmptyList(v); has == m.exists {
				return true
			}
			continue
		}
		if !present {
			continue
		}
		if list, ok := v.([]any); ok {
			for _, e := range list {
				if m.matchValue(e) {
					return true
				}
			}
			continue
		}
		if m.matchValue(v) {
			return true
		}
	}
	return false
}

func isEmptyList(v any) bool {
	l, ok := v.([]any)
	return ok && len(l) == 0
}

func (m *matcher) matchValue(v any) bool {
	switch m.kind {
	case "literal":
		return v == m.literal
	case "prefix":
		s, ok := v.(string)
		return ok && strings.HasPrefix(s, m.str)
	case "suffix":
		s, ok := v.(string)
		return ok && strings.HasSuffix(s, m.str)
	case "equals-ignore-case":
		s, ok := v.(string)
		return ok && strings.EqualFold(s, m.str)
	case "anything-but":
		switch v.(type) {
		case string, float64:
		default:
			return false
		}
		for _, x := range m.many {
			if v == x {
				return false
			}
		}
		return true
	case "numeric":
		f, ok := v.(float64)
		if !ok {
			return false
		}
		for _, c := range m.numeric {
			var hold bool
			switch c.op {
			case "=":
				hold = f == c.v
			case "<":
				hold = f < c.v
			case "<=":
				hold = f <= c.v
			case ">":
				hold = f > c.v
			case ">=":
				hold = f >= c.v
			}
			if !hold {
				return false
			}
		}
		return true
	}
	return false
}
