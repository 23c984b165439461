package policybench

import (
	"encoding/json"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bulwark-security/bulwark/internal/policy"
)

// An adjustment is one documented reason why Bulwark and iam-simulate may
// decide a case differently. It rewrites a copy of the case the way the
// other engine reads it; a disagreement is explained only when Bulwark,
// deciding the rewritten case, reaches iam-simulate's decision. Nothing is
// matched by pattern alone.
type adjustment struct {
	// label is shown in the test log; it starts with "BUG (reported)"
	// when Bulwark is the engine that departs from AWS.
	label string
	// apply rewrites sim in place and reports whether it changed anything.
	apply func(c *diffCase, sim *simulation) bool
}

const (
	labelS3ResourceTag = "S3 without bucket ABAC carries no aws:ResourceTag keys (iam-simulate filters them from the context; Bulwark leaves building the context to its caller)"
	labelNotPrincipal  = "NotPrincipal naming only some of the caller's forms (account, role, session) does not exempt it in Bulwark, as IAM documents; iam-simulate exempts it"
	labelSession       = "a resource-based policy naming the role session (or \"*\") is not limited by the session policy, as IAM documents; iam-simulate applies the session policy anyway"
	labelVersion2008   = "iam-simulate substitutes policy variables in Version 2008-10-17 policies, where IAM treats \"${...}\" as literal text"
	labelEpoch         = "iam-simulate compares an epoch-seconds Date* policy value with ISO dates in milliseconds"
)

var adjustments = []adjustment{
	// iam-simulate drops aws:ResourceTag/* from the context of S3 requests
	// unless the bucket has ABAC enabled, as S3 does (Amazon S3 User Guide,
	// "Using tags for ABAC"). Bulwark's engine evaluates the keys its caller
	// supplies; which keys a request carries is the service's business.
	{labelS3ResourceTag, func(c *diffCase, sim *simulation) bool {
		if !strings.HasPrefix(sim.Request.Action, "s3:") {
			return false
		}
		changed := false
		for k := range sim.Request.ContextVariables {
			if strings.HasPrefix(strings.ToLower(k), "aws:resourcetag/") {
				delete(sim.Request.ContextVariables, k)
				changed = true
			}
		}
		return changed
	}},
	// IAM User Guide, "AWS JSON policy elements: NotPrincipal": "you must
	// also specify the account ARN of the not-denied principal. Otherwise,
	// the policy might deny access to the entire account ... include both
	// the ARN for a role and the ARN for the account". Bulwark exempts a
	// caller only when every form is listed; iam-simulate when any one is
	// (its source marks this as not yet researched). Rewritten: a
	// NotPrincipal naming one form names them all.
	{labelNotPrincipal, func(c *diffCase, sim *simulation) bool {
		return rewriteStatements(sim, func(version string, st map[string]any) (map[string]any, bool) {
			return c.lenientNotPrincipal(st)
		})
	}},
	// IAM User Guide, "Policy evaluation logic", session policies: "A
	// resource-based policy can specify the ARN of the session as a
	// principal. ... The resource-based policy permissions are not limited
	// by the session policy." iam-simulate (session policies "coming
	// soon") always applies the session policy. Rewritten: the resource
	// policy names the role instead, which the session policy does limit.
	{labelSession, func(c *diffCase, sim *simulation) bool {
		if sim.SessionPolicy == nil || sim.ResourcePolicy == nil {
			return false
		}
		out, changed := rewriteDoc(sim.ResourcePolicy, func(_ string, st map[string]any) (map[string]any, bool) {
			return c.sessionToRole(st)
		})
		sim.ResourcePolicy = out
		return changed
	}},
	// IAM User Guide, "Policy variables": variables need Version
	// 2012-10-17; in 2008-10-17 "${...}" is literal. iam-simulate
	// substitutes anyway. Rewritten: the policy says 2012-10-17.
	{labelVersion2008, func(c *diffCase, sim *simulation) bool {
		changed := false
		forEachDoc(sim, func(doc map[string]any) {
			if doc["Version"] == "2008-10-17" && policyVariable.MatchString(mustJSON(doc)) {
				doc["Version"] = "2012-10-17"
				changed = true
			}
		})
		return changed
	}},
	// IAM User Guide, "Condition operators", Date: values are ISO 8601 or
	// epoch (UNIX) time. iam-simulate parses an epoch as seconds but ISO
	// dates as milliseconds and compares them. Rewritten: the epoch value
	// becomes the ISO date iam-simulate effectively uses.
	{labelEpoch, func(c *diffCase, sim *simulation) bool {
		return rewriteStatements(sim, func(_ string, st map[string]any) (map[string]any, bool) {
			cond, _ := st["Condition"].(map[string]any)
			changed := false
			for op, kv := range cond {
				if !strings.Contains(op, "Date") {
					continue
				}
				for k, v := range kv.(map[string]any) {
					if s, ok := v.(string); ok {
						if n, err := strconv.ParseInt(s, 10, 64); err == nil {
							kv.(map[string]any)[k] = time.UnixMilli(n).UTC().Format(time.RFC3339)
							changed = true
						}
					}
				}
			}
			return st, changed
		})
	}},
}

// knownDifference explains a disagreement by one adjustment, or failing
// that two; it returns "" when none does.
func knownDifference(c *diffCase, bulwark, sim policy.Effect) string {
	for i := range adjustments {
		if e, ok := c.decideAdjusted(adjustments[i]); ok && e == sim {
			return adjustments[i].label
		}
	}
	for i := range adjustments {
		for j := i + 1; j < len(adjustments); j++ {
			if e, ok := c.decideAdjusted(adjustments[i], adjustments[j]); ok && e == sim {
				return adjustments[i].label + " + " + adjustments[j].label
			}
		}
	}
	return ""
}

// decideAdjusted applies the adjustments to a copy of the case and decides
// it in Bulwark; ok is false when an adjustment changed nothing.
func (c *diffCase) decideAdjusted(adj ...adjustment) (policy.Effect, bool) {
	var sim simulation
	if err := json.Unmarshal([]byte(mustJSON(c.sim)), &sim); err != nil {
		return 0, false
	}
	for _, a := range adj {
		if !a.apply(c, &sim) {
			return 0, false
		}
	}
	set := &policy.Set{RequireResourceAllow: c.set.RequireResourceAllow}
	for _, sp := range sim.IdentityPolicies {
		p, _, err := parseFor(sp.Policy, policy.Options{ID: sp.Name})
		if err != nil {
			return 0, false
		}
		set.Identity = append(set.Identity, p)
	}
	for _, sp := range sim.PermissionBoundaryPolicies {
		p, _, err := parseFor(sp.Policy, policy.Options{ID: sp.Name})
		if err != nil {
			return 0, false
		}
		set.Boundary = p
	}
	if sim.SessionPolicy != nil {
		p, _, err := parseFor(sim.SessionPolicy, policy.Options{Kind: policy.KindSession, ID: "session-policy"})
		if err != nil {
			return 0, false
		}
		set.Session = []*policy.Policy{p}
	}
	if sim.ResourcePolicy != nil {
		p, _, err := parseFor(sim.ResourcePolicy, policy.Options{Kind: policy.KindResource, ID: "resource-policy"})
		if err != nil {
			return 0, false
		}
		set.Resource = p
	}
	req := c.req
	req.Context = contextOf(sim.Request.ContextVariables)
	return policy.Evaluate(set, &req).Effect, true
}

// contextOf builds a policy.Context from iam-simulate's context variables
// (after a JSON round trip, lists are []any).
func contextOf(vars map[string]any) *policy.Context {
	pc := &policy.Context{}
	for k, v := range vars {
		switch v := v.(type) {
		case string:
			pc.Set(k, v)
		case []string:
			pc.Set(k, v...)
		case []any:
			vals := make([]string, 0, len(v))
			for _, x := range v {
				s, _ := x.(string)
				vals = append(vals, s)
			}
			pc.Set(k, vals...)
		}
	}
	return pc
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func forEachDoc(sim *simulation, f func(map[string]any)) {
	for _, sp := range sim.IdentityPolicies {
		f(sp.Policy)
	}
	for _, sp := range sim.PermissionBoundaryPolicies {
		f(sp.Policy)
	}
	if sim.SessionPolicy != nil {
		f(sim.SessionPolicy)
	}
	if sim.ResourcePolicy != nil {
		f(sim.ResourcePolicy)
	}
}

// rewriteStatements passes every statement of every policy through f.
func rewriteStatements(sim *simulation, f func(version string, st map[string]any) (map[string]any, bool)) bool {
	changed := false
	for i := range sim.IdentityPolicies {
		out, ch := rewriteDoc(sim.IdentityPolicies[i].Policy, f)
		sim.IdentityPolicies[i].Policy, changed = out, changed || ch
	}
	for i := range sim.PermissionBoundaryPolicies {
		out, ch := rewriteDoc(sim.PermissionBoundaryPolicies[i].Policy, f)
		sim.PermissionBoundaryPolicies[i].Policy, changed = out, changed || ch
	}
	if sim.SessionPolicy != nil {
		out, ch := rewriteDoc(sim.SessionPolicy, f)
		sim.SessionPolicy, changed = out, changed || ch
	}
	if sim.ResourcePolicy != nil {
		out, ch := rewriteDoc(sim.ResourcePolicy, f)
		sim.ResourcePolicy, changed = out, changed || ch
	}
	return changed
}

// rewriteDoc passes each statement of doc through f, which returns the
// statement to keep (nil drops it) and whether it changed anything.
func rewriteDoc(doc map[string]any, f func(version string, st map[string]any) (map[string]any, bool)) (map[string]any, bool) {
	version, _ := doc["Version"].(string)
	sts, isList := doc["Statement"].([]any)
	if !isList {
		sts = []any{doc["Statement"]}
	}
	changed := false
	var kept []any
	_, resourceBased := sts[0].(map[string]any)["Principal"]
	_, notPrincipal := sts[0].(map[string]any)["NotPrincipal"]
	for _, x := range sts {
		st, _ := x.(map[string]any)
		nst, ch := f(version, st)
		changed = changed || ch
		if nst != nil {
			kept = append(kept, nst)
		}
	}
	if len(kept) == 0 {
		// Every statement dropped: keep one that never applies.
		st := map[string]any{"Effect": "Allow", "Action": "none:None", "Resource": "*"}
		if resourceBased || notPrincipal {
			st["Principal"] = "*"
		}
		kept = append(kept, st)
	}
	out := maps.Clone(doc)
	out["Statement"] = kept
	return out, changed
}

var policyVariable = regexp.MustCompile(`\$\{([^}]*)\}`)

// hasVariable reports whether st names, in Resource, NotResource or a
// condition value, a policy variable without a default whose key
// unresolved says cannot be substituted.
func hasVariable(st map[string]any, unresolved func(key string) bool) bool {
	text := mustJSON(map[string]any{"r": st["Resource"], "nr": st["NotResource"], "c": conditionValues(st)})
	for _, m := range policyVariable.FindAllStringSubmatch(text, -1) {
		key := strings.TrimSpace(m[1])
		if strings.Contains(key, ",") || key == "*" || key == "?" || key == "$" {
			continue // a default value, or an escape
		}
		if unresolved(key) {
			return true
		}
	}
	return false
}

// conditionValues lists a statement's condition values (not its keys).
func conditionValues(st map[string]any) []any {
	var out []any
	cond, _ := st["Condition"].(map[string]any)
	for _, kv := range cond {
		for _, v := range kv.(map[string]any) {
			out = append(out, v)
		}
	}
	return out
}

// lenientNotPrincipal rewrites a NotPrincipal that names the caller in any
// one of its forms (its ARN, its role, its account) to name all of them.
func (c *diffCase) lenientNotPrincipal(st map[string]any) (map[string]any, bool) {
	np, ok := st["NotPrincipal"].(map[string]any)
	if !ok {
		return st, false
	}
	pr := c.req.Principal
	forms := []any{pr.ARN, "arn:aws:iam::" + pr.Account + ":root", pr.Account}
	if pr.IssuerARN != "" {
		forms = append(forms, pr.IssuerARN)
	}
	var listed []any
	switch v := np["AWS"].(type) {
	case string:
		listed = []any{v}
	case []any:
		listed = v
	}
	for _, l := range listed {
		for _, f := range forms {
			if l == f {
				out := maps.Clone(st)
				out["NotPrincipal"] = map[string]any{"AWS": forms}
				return out, true
			}
		}
	}
	return st, false
}

// sessionToRole rewrites an Allow whose Principal names the caller's
// session directly ("*" or the assumed-role ARN) to name its role.
func (c *diffCase) sessionToRole(st map[string]any) (map[string]any, bool) {
	if st["Effect"] != "Allow" || c.req.Principal.IssuerARN == "" {
		return st, false
	}
	direct := false
	switch v := st["Principal"].(type) {
	case string:
		direct = v == "*"
	case map[string]any:
		switch a := v["AWS"].(type) {
		case string:
			direct = a == c.req.Principal.ARN || a == "*"
		case []any:
			for _, x := range a {
				direct = direct || x == c.req.Principal.ARN || x == "*"
			}
		}
	}
	if !direct {
		return st, false
	}
	out := maps.Clone(st)
	out["Principal"] = map[string]any{"AWS": c.req.Principal.IssuerARN}
	return out, true
}
