package policy

import (
	"strings"

	"github.com/bulwark-security/bulwark/internal/arn"
)

// Policy is a parsed, validated and compiled policy document. It is
// immutable and safe for concurrent use; compile it once when it is stored
// and share it between evaluations.
type Policy struct {
	id     string
	kind   Kind
	doc    *Document
	canon  []byte
	stmts  []cstmt
	groups []svcGroup // statements by the service prefix of their actions
	// svcMask is a two-bit Bloom filter of the groups' services (see
	// svcBits), to skip a policy that cannot match the service without
	// looking at its groups.
	svcMask uint64
	anySvc  []int32 // statements whose actions may match any service
}

// svcGroup lists the statements that can match actions of one service.
type svcGroup struct {
	hash  uint64
	svc   string // lower case
	stmts []int32
}

type cstmt struct {
	index     int
	sid       string
	deny      bool
	notAction bool
	actions   []actPat
	hasRes    bool
	notRes    bool
	res       []arnPat
	princ     *cprincipals
	notPrinc  bool
	conds     []cond
}

type actPat struct {
	all        bool
	raw        string
	svc        string // lower case; empty when svcWild
	svcWild    bool
	svcRaw     string // as written, tried before the case-insensitive compare
	name       string // lower case
	nameRaw    string
	nameWild   bool
	namePrefix bool // name is a literal followed by one trailing '*'
}

type cprincipals struct {
	any       bool
	accounts  []string
	arns      []string
	services  []string
	federated []string
	canonical []string
}

// ID is Options.ID.
func (p *Policy) ID() string { return p.id }

// Kind is the kind the policy was parsed as.
func (p *Policy) Kind() Kind { return p.kind }

// Document is the validated syntax tree, for the analyzer. Do not modify it.
func (p *Policy) Document() *Document { return p.doc }

// Statements is Document().Statements.
func (p *Policy) Statements() []Statement { return p.doc.Statements }

// JSON is the canonical JSON of the policy (see Document.MarshalJSON). The
// slice is shared: do not modify it.
func (p *Policy) JSON() []byte { return p.canon }

// ConditionKeys lists, once each and in order of appearance, the context
// keys the policy's conditions and policy variables read; IAM's
// GetContextKeysForPolicy reports these.
func (p *Policy) ConditionKeys() []string {
	var out []string
	seen := map[string]bool{}
	add := func(k string) {
		if lk := strings.ToLower(k); !seen[lk] {
			seen[lk] = true
			out = append(out, k)
		}
	}
	addVars := func(v *vpat) {
		for _, t := range v.toks {
			if t.kind == tVar {
				add(t.s)
			}
		}
	}
	for i := range p.stmts {
		st := &p.stmts[i]
		for j := range st.res {
			for k := range st.res[j].segs {
				addVars(&st.res[j].segs[k])
			}
		}
		for j := range st.conds {
			c := &st.conds[j]
			add(c.key)
			for k := range c.values {
				addVars(&c.values[k].pat)
				for s := range c.values[k].arn.segs {
					addVars(&c.values[k].arn.segs[s])
				}
			}
		}
	}
	return out
}

func compile(d *Document, o Options) *Policy {
	p := &Policy{id: o.ID, kind: o.Kind, doc: d}
	p.canon, _ = d.MarshalJSON()
	vars := d.Version == Version2012
	p.stmts = make([]cstmt, len(d.Statements))
	for i := range d.Statements {
		s := &d.Statements[i]
		st := &p.stmts[i]
		st.index, st.sid, st.deny = i, s.Sid, s.Effect == EffectDeny
		acts := s.Action
		if s.NotAction != nil {
			acts, st.notAction = s.NotAction, true
		}
		for _, a := range acts {
			st.actions = append(st.actions, compileAction(a))
		}
		res := s.Resource
		if s.NotResource != nil {
			res, st.notRes = s.NotResource, true
		}
		if res != nil {
			st.hasRes = true
			for _, r := range res {
				st.res = append(st.res, compileARN(r, vars))
			}
		}
		if s.Principal != nil {
			st.princ = compilePrincipals(s.Principal)
		} else if s.NotPrincipal != nil {
			st.princ, st.notPrinc = compilePrincipals(s.NotPrincipal), true
		}
		for j := range s.Condition {
			st.conds = append(st.conds, compileCondition(&s.Condition[j], vars))
		}
		p.index(int32(i), st)
	}
	return p
}

func compileAction(a string) actPat {
	if a == "*" {
		return actPat{all: true, raw: a}
	}
	svc, name, _ := strings.Cut(a, ":")
	ap := actPat{raw: a, svcRaw: svc, name: strings.ToLower(name), nameRaw: name,
		nameWild: strings.ContainsAny(name, "*?"), namePrefix: isPrefixPattern(name)}
	if strings.ContainsAny(svc, "*?") {
		ap.svcWild = true
	} else {
		ap.svc = strings.ToLower(svc)
	}
	return ap
}

// index files the statement under each service its actions name, or under
// anySvc when it may match any service (NotAction, "*", wildcard services).
func (p *Policy) index(i int32, st *cstmt) {
	wild := st.notAction
	for _, a := range st.actions {
		if a.all || a.svcWild {
			wild = true
		}
	}
	if wild {
		p.anySvc = append(p.anySvc, i)
		return
	}
	for _, a := range st.actions {
		h := keyHash(a.svc)
		p.svcMask |= svcBits(h)
		found := false
		for g := range p.groups {
			if p.groups[g].svc == a.svc {
				if l := p.groups[g].stmts; l[len(l)-1] != i {
					p.groups[g].stmts = append(l, i)
				}
				found = true
				break
			}
		}
		if !found {
			p.groups = append(p.groups, svcGroup{hash: h, svc: a.svc, stmts: []int32{i}})
		}
	}
}

func compilePrincipals(ps *Principals) *cprincipals {
	c := &cprincipals{any: ps.Wildcard}
	for _, a := range ps.AWS {
		switch {
		case a == "*":
			c.any = true
		case arn.IsAccountID(a):
			c.accounts = append(c.accounts, a)
		default:
			if v, err := arn.Parse(a); err == nil && v.Service == "iam" && v.Resource == "root" {
				c.accounts = append(c.accounts, v.Account)
			} else {
				c.arns = append(c.arns, a)
			}
		}
	}
	c.services = ps.Service
	c.federated = ps.Federated
	c.canonical = ps.CanonicalUser
	return c
}

// svcBits is the Bloom filter entry of a service hash.
func svcBits(h uint64) uint64 { return 1<<(h&63) | 1<<((h>>6)&63) }
