package policy

import (
	"bytes"
	"encoding/json"
	"sort"
)

// Policy language versions (IAM User Guide, "IAM JSON policy elements:
// Version"). Policy variables are only recognised in Version2012.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Statement effects.
const (
	EffectAllow = "Allow"
	EffectDeny  = "Deny"
)

// Document is the parsed, validated form of a policy document, in the order
// the author wrote it. It is what the analyzer walks; evaluation uses the
// compiled form held by Policy. Treat it as read-only.
type Document struct {
	Version    string // as written; empty when the document has none
	ID         string // the optional "Id" element
	Statements []Statement
}

// Statement is one element of the Statement array. A nil slice means the
// element is absent; a present element always has at least one entry.
type Statement struct {
	Sid          string
	Effect       string // EffectAllow or EffectDeny
	Principal    *Principals
	NotPrincipal *Principals
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	Condition    []Condition // sorted by operator, then key
	// Start and End locate the statement object in the document as it
	// was parsed (IAM's MatchedStatements report these positions). They
	// are not part of the canonical JSON.
	Start, End Position
}

// Position is a place in a policy document: 1-based line and column, the
// column counted in characters.
type Position struct {
	Line, Column int
}

// Principals is the value of a Principal or NotPrincipal element.
type Principals struct {
	Wildcard      bool // the element was the string "*"
	AWS           []string
	Service       []string
	Federated     []string
	CanonicalUser []string
}

// Condition is one operator/key pair of a Condition block, e.g.
// {"StringEquals": {"aws:username": ["a", "b"]}}.
type Condition struct {
	Operator string // as written, e.g. "ForAnyValue:StringLikeIfExists"
	Key      string // as written
	Values   []string
	// Bare records that the value was written as a single string rather
	// than an array, so canonical JSON keeps the author's shape.
	Bare bool
}

// MarshalJSON renders the canonical form of the document: elements in a
// fixed order, Statement always an array, one-entry lists as plain strings,
// Condition operators and keys sorted, no insignificant whitespace.
// Parsing the canonical form yields the same canonical form.
func (d *Document) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	field := func(name string) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeString(&b, name)
		b.WriteByte(':')
	}
	if d.Version != "" {
		field("Version")
		writeString(&b, d.Version)
	}
	if d.ID != "" {
		field("Id")
		writeString(&b, d.ID)
	}
	field("Statement")
	b.WriteByte('[')
	for i := range d.Statements {
		if i > 0 {
			b.WriteByte(',')
		}
		d.Statements[i].marshal(&b)
	}
	b.WriteString("]}")
	return b.Bytes(), nil
}

func (s *Statement) marshal(b *bytes.Buffer) {
	b.WriteByte('{')
	first := true
	field := func(name string) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeString(b, name)
		b.WriteByte(':')
	}
	if s.Sid != "" {
		field("Sid")
		writeString(b, s.Sid)
	}
	field("Effect")
	writeString(b, s.Effect)
	if s.Principal != nil {
		field("Principal")
		s.Principal.marshal(b)
	}
	if s.NotPrincipal != nil {
		field("NotPrincipal")
		s.NotPrincipal.marshal(b)
	}
	for _, e := range [...]struct {
		name string
		list []string
	}{{"Action", s.Action}, {"NotAction", s.NotAction}, {"Resource", s.Resource}, {"NotResource", s.NotResource}} {
		if e.list != nil {
			field(e.name)
			writeList(b, e.list, len(e.list) == 1)
		}
	}
	if len(s.Condition) > 0 {
		field("Condition")
		b.WriteByte('{')
		for i := 0; i < len(s.Condition); {
			if i > 0 {
				b.WriteByte(',')
			}
			op := s.Condition[i].Operator
			writeString(b, op)
			b.WriteString(":{")
			for j := i; j < len(s.Condition) && s.Condition[j].Operator == op; j++ {
				if j > i {
					b.WriteByte(',')
				}
				c := &s.Condition[j]
				writeString(b, c.Key)
				b.WriteByte(':')
				writeList(b, c.Values, c.Bare && len(c.Values) == 1)
				i = j + 1
			}
			b.WriteByte('}')
		}
		b.WriteByte('}')
	}
	b.WriteByte('}')
}

func (p *Principals) marshal(b *bytes.Buffer) {
	if p.Wildcard {
		writeString(b, "*")
		return
	}
	b.WriteByte('{')
	first := true
	for _, e := range [...]struct {
		name string
		list []string
	}{{"AWS", p.AWS}, {"CanonicalUser", p.CanonicalUser}, {"Federated", p.Federated}, {"Service", p.Service}} {
		if e.list == nil {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeString(b, e.name)
		b.WriteByte(':')
		writeList(b, e.list, len(e.list) == 1)
	}
	b.WriteByte('}')
}

func writeList(b *bytes.Buffer, list []string, bare bool) {
	if bare {
		writeString(b, list[0])
		return
	}
	b.WriteByte('[')
	for i, s := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, s)
	}
	b.WriteByte(']')
}

func writeString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s) // cannot fail for a string
	b.Write(enc)
}

func sortConditions(cs []Condition) {
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].Operator != cs[j].Operator {
			return cs[i].Operator < cs[j].Operator
		}
		return cs[i].Key < cs[j].Key
	})
}
