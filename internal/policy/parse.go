package policy

import (
	"encoding/base64"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bulwark-security/bulwark/internal/arn"
)

// Kind says where a policy is attached, which decides whether it must or
// must not name a Principal and how large it may be.
type Kind uint8

const (
	// KindIdentity is a managed policy, also used as a permissions boundary.
	KindIdentity Kind = iota
	// KindUserInline, KindGroupInline and KindRoleInline are inline
	// identity policies of a user, group or role.
	KindUserInline
	KindGroupInline
	KindRoleInline
	// KindSession is a session policy passed to AssumeRole or
	// GetFederationToken.
	KindSession
	// KindTrust is a role trust policy: a resource policy on the role
	// that must name a Principal and must not name a Resource.
	KindTrust
	// KindResource is a resource-based policy (secret, key, ...).
	KindResource
)

// Default size limits in characters, not counting whitespace (IAM User
// Guide, "IAM and AWS STS quotas"; Secrets Manager quotas for resource
// policies).
const (
	LimitManaged     = 6144
	LimitUserInline  = 2048
	LimitGroupInline = 5120
	LimitRoleInline  = 10240
	LimitTrust       = 2048
	LimitSession     = 2048
	LimitResource    = 20480
)

func (k Kind) String() string {
	switch k {
	case KindIdentity:
		return "identity"
	case KindUserInline:
		return "user-inline"
	case KindGroupInline:
		return "group-inline"
	case KindRoleInline:
		return "role-inline"
	case KindSession:
		return "session"
	case KindTrust:
		return "trust"
	case KindResource:
		return "resource"
	}
	return "kind(" + itoa(int(k)) + ")"
}

// DefaultLimit is the size limit of a kind when Options.SizeLimit is zero.
func (k Kind) DefaultLimit() int {
	switch k {
	case KindUserInline:
		return LimitUserInline
	case KindGroupInline:
		return LimitGroupInline
	case KindRoleInline:
		return LimitRoleInline
	case KindSession:
		return LimitSession
	case KindTrust:
		return LimitTrust
	case KindResource:
		return LimitResource
	}
	return LimitManaged
}

// IsResourceBased reports whether policies of this kind name principals.
func (k Kind) IsResourceBased() bool { return k == KindTrust || k == KindResource }

// Options tune ParseOptions. The zero value parses a managed identity policy
// with the default limit.
type Options struct {
	Kind Kind
	// ID names the policy in decisions (StatementRef.PolicyID), e.g. the
	// policy ARN or "user/alice/inline/name".
	ID string
	// SizeLimit in non-whitespace characters: 0 means Kind.DefaultLimit(),
	// a negative value disables the check.
	SizeLimit int
}

// MaxDocumentBytes bounds the raw input regardless of SizeLimit, so a
// hostile document cannot make the parser do unbounded work.
const MaxDocumentBytes = 1 << 20

// Parse validates and compiles a policy document of the given kind.
func Parse(doc []byte, kind Kind) (*Policy, error) {
	return ParseOptions(doc, Options{Kind: kind})
}

// ParseOptions validates and compiles a policy document. Every error is an
// *Error listing all the problems found.
func ParseOptions(doc []byte, o Options) (*Policy, error) {
	limit := o.SizeLimit
	if limit == 0 {
		limit = o.Kind.DefaultLimit()
	}
	if len(doc) > MaxDocumentBytes || (limit > 0 && nonSpaceChars(doc) > limit) {
		return nil, &Error{Code: CodeLimitExceeded, Problems: []Problem{{
			Statement: DocumentLevel,
			Message:   limitMessage(o.Kind, max(limit, 0)),
		}}}
	}
	if !utf8.Valid(doc) {
		return nil, syntaxError()
	}
	root, err := parseJSON(doc)
	if err != nil {
		var dup *dupKeyError
		if errors.As(err, &dup) {
			return nil, &Error{Code: CodeMalformed, Problems: []Problem{{
				Statement: DocumentLevel, Message: "Syntax errors in policy. Duplicate key " + quoteShort(dup.key),
			}}}
		}
		return nil, syntaxError()
	}
	v := validator{kind: o.Kind, src: doc}
	d := v.document(&root)
	if len(v.problems) > 0 {
		return nil, &Error{Code: CodeMalformed, Problems: v.problems}
	}
	return compile(d, o), nil
}

func syntaxError() *Error {
	return &Error{Code: CodeMalformed, Problems: []Problem{{Statement: DocumentLevel, Message: "Syntax errors in policy."}}}
}

// nonSpaceChars counts characters other than JSON whitespace, as IAM does
// when it checks policy size.
func nonSpaceChars(b []byte) int {
	n := 0
	for _, r := range string(b) {
		switch r {
		case ' ', '\t', '\n', '\r':
		default:
			n++
		}
	}
	return n
}

type validator struct {
	src      []byte
	off      int // position() resumes from src[off], which is at pos
	pos      Position
	kind     Kind
	problems []Problem
	stmt     int
	sid      string
}

// maxProblems bounds the problems reported for one document.
const maxProblems = 100

func (v *validator) fail(msg string) {
	if len(v.problems) < maxProblems {
		v.problems = append(v.problems, Problem{Statement: v.stmt, Sid: short(v.sid), Message: msg})
	}
}

func (v *validator) document(root *jvalue) *Document {
	v.stmt = DocumentLevel
	if root.kind != jObject {
		v.fail("Syntax errors in policy.")
		return nil
	}
	d := &Document{}
	var stmts *jvalue
	for i := range root.obj {
		m := &root.obj[i]
		switch m.key {
		case "Version":
			if m.val.kind != jString || (m.val.str != Version2012 && m.val.str != Version2008) {
				v.fail("The policy failed legacy parsing")
				continue
			}
			d.Version = m.val.str
		case "Id":
			if m.val.kind != jString {
				v.fail("Syntax errors in policy.")
				continue
			}
			d.ID = m.val.str
		case "Statement":
			stmts = &m.val
		default:
			v.fail("Unknown field " + short(m.key))
		}
	}
	if stmts == nil {
		v.fail("Missing required field Statement")
		return d
	}
	var list []jvalue
	switch stmts.kind {
	case jObject:
		list = []jvalue{*stmts}
	case jArray:
		list = stmts.arr
		if len(list) == 0 {
			v.fail("Missing required field Statement")
		}
	default:
		v.fail("Syntax errors in policy.")
		return d
	}
	sids := map[string]bool{}
	for i := range list {
		v.stmt, v.sid = i, ""
		s := v.statement(&list[i])
		if s == nil {
			continue
		}
		if s.Sid != "" {
			if sids[s.Sid] {
				v.fail("Statement IDs (SID) in a single policy must be unique.")
			}
			sids[s.Sid] = true
		}
		d.Statements = append(d.Statements, *s)
	}
	return d
}

func (v *validator) statement(j *jvalue) *Statement {
	if j.kind != jObject {
		v.fail("Syntax errors in policy.")
		return nil
	}
	if sid, ok := j.get("Sid"); ok && sid.kind == jString {
		v.sid = sid.str
	}
	s := &Statement{Start: v.position(j.start), End: v.position(j.end)}
	for i := range j.obj {
		m := &j.obj[i]
		switch m.key {
		case "Sid":
			if m.val.kind != jString {
				v.fail("Syntax errors in policy.")
				continue
			}
			s.Sid = m.val.str
			if v.kind != KindResource && !isAlnum(s.Sid) { // IAM policies, trust policies included
				v.fail("Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*")
			}
		case "Effect":
			if m.val.kind != jString {
				v.fail("Syntax errors in policy.")
				continue
			}
			if m.val.str != EffectAllow && m.val.str != EffectDeny {
				v.fail("Invalid effect: " + short(m.val.str))
			}
			s.Effect = m.val.str
		case "Action", "NotAction":
			list := v.stringList(&m.val, m.key)
			for _, a := range list {
				v.action(a)
			}
			if m.key == "Action" {
				s.Action = list
			} else {
				s.NotAction = list
			}
		case "Resource", "NotResource":
			if v.kind == KindTrust {
				v.fail("Has prohibited field " + m.key)
				continue
			}
			list := v.stringList(&m.val, m.key)
			for _, r := range list {
				if !validResource(r) {
					v.fail("Policy has invalid resource " + quoteShort(r))
				}
			}
			if m.key == "Resource" {
				s.Resource = list
			} else {
				s.NotResource = list
			}
		case "Principal", "NotPrincipal":
			if !v.kind.IsResourceBased() {
				v.fail("Policy document should not specify a principal.")
				continue
			}
			if m.key == "NotPrincipal" && v.kind == KindTrust {
				v.fail("Has prohibited field NotPrincipal")
				continue
			}
			p := v.principals(&m.val)
			if m.key == "Principal" {
				s.Principal = p
			} else {
				s.NotPrincipal = p
			}
		case "Condition":
			s.Condition = v.conditions(&m.val)
		default:
			v.fail("Unknown field " + short(m.key))
		}
	}
	if s.Effect == "" {
		if _, ok := j.get("Effect"); !ok {
			v.fail("Missing required field Effect")
		}
	}
	switch {
	case s.Action == nil && s.NotAction == nil:
		v.fail("Missing required field Action")
	case s.Action != nil && s.NotAction != nil:
		v.fail("Statement cannot contain both Action and NotAction")
	}
	if s.Resource != nil && s.NotResource != nil {
		v.fail("Statement cannot contain both Resource and NotResource")
	}
	if v.kind != KindTrust && s.Resource == nil && s.NotResource == nil {
		if _, has := j.get("Resource"); !has {
			if _, has := j.get("NotResource"); !has {
				v.fail("Missing required field Resource")
			}
		}
	}
	if v.kind.IsResourceBased() {
		_, hasP := j.get("Principal")
		_, hasNP := j.get("NotPrincipal")
		switch {
		case !hasP && !hasNP:
			v.fail("Missing required field Principal")
		case hasP && hasNP:
			v.fail("Statement cannot contain both Principal and NotPrincipal")
		}
	}
	if s.NotPrincipal != nil && s.Effect == EffectAllow {
		// IAM User Guide, "NotPrincipal": AWS strongly discourages
		// NotPrincipal with Allow and refuses it in newer policy types.
		v.fail("NotPrincipal is only supported with Effect Deny")
	}
	return s
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// stringList accepts a string or a non-empty array of strings.
func (v *validator) stringList(j *jvalue, field string) []string {
	switch j.kind {
	case jString:
		return []string{j.str}
	case jArray:
		if len(j.arr) == 0 {
			v.fail("Missing required field " + field)
			return nil
		}
		out := make([]string, 0, len(j.arr))
		for i := range j.arr {
			if j.arr[i].kind != jString {
				v.fail("Syntax errors in policy.")
				continue
			}
			out = append(out, j.arr[i].str)
		}
		return out
	}
	v.fail("Syntax errors in policy.")
	return nil
}

func (v *validator) action(a string) {
	if a == "*" {
		return
	}
	i := strings.IndexByte(a, ':')
	if i <= 0 || i == len(a)-1 {
		v.fail("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
		return
	}
	for _, c := range a[:i] {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '*' || c == '?') {
			v.fail("Vendor " + short(a[:i]) + " is not valid")
			return
		}
	}
	for _, c := range a[i+1:] {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '*' || c == '?') {
			v.fail("Action " + short(a) + " is not valid")
			return
		}
	}
}

func (v *validator) principals(j *jvalue) *Principals {
	p := &Principals{}
	if j.kind == jString {
		if j.str != "*" {
			v.fail("Invalid principal in policy: " + quoteShort(j.str))
		}
		p.Wildcard = true
		return p
	}
	if j.kind != jObject || len(j.obj) == 0 {
		v.fail("Syntax errors in policy.")
		return p
	}
	for i := range j.obj {
		m := &j.obj[i]
		list := v.stringList(&m.val, "Principal")
		for _, s := range list {
			bad := s == ""
			if m.key == "AWS" && s != "*" && !arn.IsAccountID(s) {
				a, err := arn.Parse(s)
				bad = err != nil || strings.ContainsAny(s, "*?") ||
					!(a.Service == "iam" || a.Service == "sts") || !arn.IsAccountID(a.Account)
			}
			if bad {
				v.fail("Invalid principal in policy: " + quoteShort(m.key) + ":" + quoteShort(s))
			}
		}
		switch m.key {
		case "AWS":
			p.AWS = list
		case "Service":
			p.Service = list
		case "Federated":
			p.Federated = list
		case "CanonicalUser":
			p.CanonicalUser = list
		default:
			v.fail("Invalid principal in policy: " + quoteShort(m.key))
		}
	}
	return p
}

func (v *validator) conditions(j *jvalue) []Condition {
	if j.kind != jObject {
		v.fail("Syntax errors in policy.")
		return nil
	}
	var out []Condition
	for i := range j.obj {
		op := &j.obj[i]
		spec, ok := parseOperator(op.key)
		if !ok {
			v.fail("Invalid Condition type : " + short(op.key))
			continue
		}
		if op.val.kind != jObject || len(op.val.obj) == 0 {
			v.fail("Syntax errors in policy.")
			continue
		}
		for k := range op.val.obj {
			m := &op.val.obj[k]
			c := Condition{Operator: op.key, Key: m.key}
			if i := strings.IndexByte(m.key, ':'); i <= 0 || i == len(m.key)-1 {
				v.fail("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
				continue
			}
			switch m.val.kind {
			case jArray:
				c.Values = make([]string, 0, len(m.val.arr))
				for e := range m.val.arr {
					s, ok := scalar(&m.val.arr[e])
					if !ok {
						v.fail("Syntax errors in policy.")
						continue
					}
					c.Values = append(c.Values, s)
				}
			default:
				s, ok := scalar(&m.val)
				if !ok {
					v.fail("Syntax errors in policy.")
					continue
				}
				c.Values, c.Bare = []string{s}, true
			}
			for _, val := range c.Values {
				if !spec.validValue(val) {
					v.fail("Invalid Condition value for " + op.key + ": " + quoteShort(val))
				}
			}
			out = append(out, c)
		}
	}
	sortConditions(out)
	return out
}

func scalar(j *jvalue) (string, bool) {
	switch j.kind {
	case jString, jNumber:
		return j.str, true
	case jBool:
		return strconv.FormatBool(j.b), true
	}
	return "", false
}

// validValue checks values whose type the operator fixes. Values that may
// contain policy variables (strings, ARNs) are always accepted.
func (s opSpec) validValue(v string) bool {
	switch s.base {
	case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		_, err := strconv.ParseFloat(v, 64)
		return err == nil
	case opDateEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
		_, ok := parseTime(v)
		return ok
	case opBool, opNull:
		return strings.EqualFold(v, "true") || strings.EqualFold(v, "false")
	case opBinaryEquals:
		_, err := base64.StdEncoding.DecodeString(v)
		return err == nil
	case opIPAddress:
		_, ok := parseCIDR(v)
		return ok
	}
	return true
}

func parseCIDR(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// validResource accepts "*" and ARN patterns: "arn:", then partition,
// service, region, account and resource components, where a trailing
// wildcard may stand for the components left out.
func validResource(r string) bool {
	if r == "*" {
		return true
	}
	if !strings.HasPrefix(r, "arn:") {
		return false
	}
	parts := strings.SplitN(r, ":", 6)
	if len(parts) < 6 {
		return strings.HasSuffix(r, "*") && len(parts) >= 2 && parts[1] != ""
	}
	return parts[1] != "" && parts[2] != "" && parts[5] != ""
}

// short bounds a client-supplied value echoed in an error message.
func short(s string) string {
	const max = 128
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func quoteShort(s string) string { return strconv.Quote(short(s)) }

// position converts a byte offset of the source to a line and column.
// Statements come in order, so it resumes where the previous call stopped
// and a whole document costs one pass.
func (v *validator) position(off int) Position {
	off = min(off, len(v.src))
	if off < v.off || v.pos.Line == 0 {
		v.off, v.pos = 0, Position{Line: 1, Column: 1}
	}
	for _, r := range string(v.src[v.off:off]) {
		if r == '\n' {
			v.pos.Line++
			v.pos.Column = 1
		} else {
			v.pos.Column++
		}
	}
	v.off = off
	return v.pos
}

// limitMessage words a size error as IAM does for each kind of policy (IAM
// appends "for user NAME" and the like to the inline form).
func limitMessage(k Kind, limit int) string {
	switch k {
	case KindTrust:
		return "Cannot exceed quota for ACLSizePerRole: " + itoa(limit)
	case KindUserInline, KindGroupInline, KindRoleInline:
		return "Maximum policy size of " + itoa(limit) + " bytes exceeded"
	}
	return "Cannot exceed quota for PolicySize: " + itoa(limit)
}
