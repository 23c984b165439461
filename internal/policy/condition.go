package policy

import (
	"net/netip"
	"strconv"
	"strings"
)

type op uint8

// Base operators. Negated forms (StringNotEquals, NotIpAddress, ...) are the
// positive operator with opSpec.negated set, which is how AWS defines them.
const (
	opStringEquals op = iota + 1
	opStringEqualsIgnoreCase
	opStringLike
	opNumericEquals
	opNumericLessThan
	opNumericLessThanEquals
	opNumericGreaterThan
	opNumericGreaterThanEquals
	opDateEquals
	opDateLessThan
	opDateLessThanEquals
	opDateGreaterThan
	opDateGreaterThanEquals
	opBool
	opBinaryEquals
	opIPAddress
	opArnLike // ArnEquals and ArnLike behave the same
	opNull
)

type setOp uint8

const (
	setNone setOp = iota
	setForAll
	setForAny
)

type opSpec struct {
	base     op
	negated  bool
	set      setOp
	ifExists bool
}

var operators = map[string]opSpec{
	"StringEquals":              {base: opStringEquals},
	"StringNotEquals":           {base: opStringEquals, negated: true},
	"StringEqualsIgnoreCase":    {base: opStringEqualsIgnoreCase},
	"StringNotEqualsIgnoreCase": {base: opStringEqualsIgnoreCase, negated: true},
	"StringLike":                {base: opStringLike},
	"StringNotLike":             {base: opStringLike, negated: true},
	"NumericEquals":             {base: opNumericEquals},
	"NumericNotEquals":          {base: opNumericEquals, negated: true},
	"NumericLessThan":           {base: opNumericLessThan},
	"NumericLessThanEquals":     {base: opNumericLessThanEquals},
	"NumericGreaterThan":        {base: opNumericGreaterThan},
	"NumericGreaterThanEquals":  {base: opNumericGreaterThanEquals},
	"DateEquals":                {base: opDateEquals},
	"DateNotEquals":             {base: opDateEquals, negated: true},
	"DateLessThan":              {base: opDateLessThan},
	"DateLessThanEquals":        {base: opDateLessThanEquals},
	"DateGreaterThan":           {base: opDateGreaterThan},
	"DateGreaterThanEquals":     {base: opDateGreaterThanEquals},
	"Bool":                      {base: opBool},
	"BinaryEquals":              {base: opBinaryEquals},
	"IpAddress":                 {base: opIPAddress},
	"NotIpAddress":              {base: opIPAddress, negated: true},
	"ArnEquals":                 {base: opArnLike},
	"ArnNotEquals":              {base: opArnLike, negated: true},
	"ArnLike":                   {base: opArnLike},
	"ArnNotLike":                {base: opArnLike, negated: true},
	"Null":                      {base: opNull},
}

// parseOperator understands "[ForAllValues:|ForAnyValue:]Name[IfExists]"
// (IAM User Guide, "IAM JSON policy elements: Condition operators").
func parseOperator(name string) (opSpec, bool) {
	var set setOp
	switch {
	case strings.HasPrefix(name, "ForAllValues:"):
		set, name = setForAll, name[len("ForAllValues:"):]
	case strings.HasPrefix(name, "ForAnyValue:"):
		set, name = setForAny, name[len("ForAnyValue:"):]
	}
	ifExists := false
	if base, ok := strings.CutSuffix(name, "IfExists"); ok && base != "Null" {
		ifExists, name = true, base
	}
	spec, ok := operators[name]
	if !ok || (spec.base == opNull && set != setNone) {
		return opSpec{}, false
	}
	spec.set, spec.ifExists = set, ifExists
	return spec, true
}

// cond is one compiled operator/key pair.
type cond struct {
	spec   opSpec
	key    string
	lower  string // key in lower case
	hash   uint64
	values []cval
	// vars: some value holds a policy variable without a default.
	vars bool
}

type cval struct {
	str    string
	pat    vpat   // String* operators
	arn    arnPat // Arn* operators
	num    float64
	t      tval
	prefix netip.Prefix
	b      bool
}

func compileCondition(c *Condition, vars bool) cond {
	spec, _ := parseOperator(c.Operator) // validated by the parser
	out := cond{spec: spec, key: c.Key, lower: strings.ToLower(c.Key), hash: keyHash(c.Key), values: make([]cval, len(c.Values))}
	for i, v := range c.Values {
		cv := &out.values[i]
		cv.str = v
		switch spec.base {
		case opStringEquals, opStringEqualsIgnoreCase:
			cv.pat = compilePattern(v, vars, false)
			out.vars = out.vars || cv.pat.needsVar()
		case opStringLike:
			cv.pat = compilePattern(v, vars, true)
			out.vars = out.vars || cv.pat.needsVar()
		case opArnLike:
			cv.arn = compileARN(v, vars)
			out.vars = out.vars || cv.arn.needsVar()
		case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
			cv.num, _ = strconv.ParseFloat(v, 64)
		case opDateEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
			cv.t, _ = parseTime(v)
		case opBool, opNull:
			cv.b = strings.EqualFold(v, "true")
		case opIPAddress:
			cv.prefix, _ = parseCIDR(v)
		}
	}
	return out
}

// eval decides one operator/key pair. The rules for absent keys follow the
// IAM User Guide ("Condition operators", "...IfExists", "Conditions with
// multiple context keys or values", "Single-valued vs. multivalued context
// keys"):
//   - Null compares presence itself;
//   - ...IfExists is true when the key is absent;
//   - ForAllValues is true for an absent or empty key (vacuous truth);
//   - ForAnyValue is false for an absent key;
//   - a negated operator (StringNotEquals, NotIpAddress, ...) is true when
//     the key is absent, a positive one false.
//
// With a present key, values of one key are ORed (NOR for a negated
// operator), and the set operators quantify over the request's values.
func (c *cond) eval(ev *evaluator) bool {
	start, end, ok := ev.ctx.findLower(c.key, c.lower, c.hash)
	present := ok && end > start
	if c.spec.base == opNull {
		for i := range c.values {
			if c.values[i].b != present {
				return true
			}
		}
		return false
	}
	if !present {
		// The values are never compared, so a policy variable in them
		// cannot change the outcome and need not resolve.
		ev.missing(&c.key)
		switch {
		case c.spec.ifExists, c.spec.set == setForAll:
			return true
		case c.spec.set == setForAny:
			return false
		}
		return c.spec.negated
	}
	// A negated operator holds only when the request value differs from
	// every policy value; a value with an unresolvable variable cannot be
	// shown to differ, so the condition is false (IAM User Guide,
	// "Variables and tags": "If AWS cannot resolve a variable this might
	// cause the entire statement to be invalid"). Checking every value
	// first keeps the answer independent of how far a match reads. A
	// positive operator needs no check: such a value matches nothing.
	if c.vars && c.spec.negated && !c.resolvable(ev) {
		return false
	}
	vals := ev.ctx.vals[start:end]
	switch c.spec.set {
	case setForAll:
		for _, rv := range vals {
			if c.matchAny(rv, ev) == c.spec.negated {
				return false
			}
		}
		return true
	case setForAny:
		for _, rv := range vals {
			if c.matchAny(rv, ev) != c.spec.negated {
				return true
			}
		}
		return false
	}
	for _, rv := range vals {
		if c.matchAny(rv, ev) {
			return !c.spec.negated
		}
	}
	return c.spec.negated
}

// resolvable reports whether every policy variable of the values can be
// substituted, recording absent keys as missing.
func (c *cond) resolvable(ev *evaluator) bool {
	ok := true
	for i := range c.values {
		v := &c.values[i]
		if c.spec.base == opArnLike {
			ok = v.arn.resolvable(ev) && ok
		} else {
			ok = v.pat.resolvable(ev) && ok
		}
	}
	return ok
}

// matchAny reports whether the request value rv matches any policy value
// under the positive form of the operator.
func (c *cond) matchAny(rv string, ev *evaluator) bool {
	switch c.spec.base {
	case opStringEquals:
		for i := range c.values {
			if c.values[i].pat.match(rv, false, ev) {
				return true
			}
		}
	case opStringEqualsIgnoreCase:
		for i := range c.values {
			if c.values[i].pat.match(rv, true, ev) {
				return true
			}
		}
	case opStringLike:
		for i := range c.values {
			if c.values[i].pat.match(rv, false, ev) {
				return true
			}
		}
	case opArnLike:
		for i := range c.values {
			if c.values[i].arn.match(rv, ev) {
				return true
			}
		}
	case opBinaryEquals:
		for i := range c.values {
			if c.values[i].str == rv {
				return true
			}
		}
	case opBool:
		b := strings.EqualFold(rv, "true")
		if !b && !strings.EqualFold(rv, "false") {
			return false
		}
		for i := range c.values {
			if c.values[i].b == b {
				return true
			}
		}
	case opIPAddress:
		a, err := netip.ParseAddr(rv)
		if err != nil {
			return false
		}
		a = a.Unmap()
		for i := range c.values {
			if c.values[i].prefix.Contains(a) {
				return true
			}
		}
	case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		x, err := strconv.ParseFloat(rv, 64)
		if err != nil {
			return false
		}
		for i := range c.values {
			if cmpOK(c.spec.base, cmpFloat(x, c.values[i].num)) {
				return true
			}
		}
	case opDateEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
		t, ok := parseTime(rv)
		if !ok {
			return false
		}
		for i := range c.values {
			if cmpOK(c.spec.base, t.cmp(c.values[i].t)) {
				return true
			}
		}
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpOK(o op, c int) bool {
	switch o {
	case opNumericEquals, opDateEquals:
		return c == 0
	case opNumericLessThan, opDateLessThan:
		return c < 0
	case opNumericLessThanEquals, opDateLessThanEquals:
		return c <= 0
	case opNumericGreaterThan, opDateGreaterThan:
		return c > 0
	case opNumericGreaterThanEquals, opDateGreaterThanEquals:
		return c >= 0
	}
	return false
}
