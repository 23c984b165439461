package iam

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

// memStore is an in-memory store.Store and store.IAM for the unit tests.
// It follows the interface's documented rules (case-insensitive names,
// quotas and dependents checked on write) with one mutex.
type memStore struct {
	mu       sync.Mutex
	gen      int64
	accounts map[string]store.Account
	keys     map[string]store.AccessKey
	keyOrder []string
	meta     map[string][]byte
	users    map[string]*store.User  // acct/lower(name)
	groups   map[string]*store.Group // acct/lower(name)
	roles    map[string]*store.Role
	members  map[string]map[string]bool // group key -> user key
	policies map[string]*store.ManagedPolicy
	versions map[string][]store.PolicyVersion
	nextVer  map[string]int
	inline   map[string]store.InlinePolicy // acct/kind/lower(entity)/name
	attached map[string][]string           // acct/kind/lower(entity) -> policy ARNs
	oidc     map[string]*store.OIDCProvider
}

func newMemStore() *memStore {
	return &memStore{accounts: map[string]store.Account{}, keys: map[string]store.AccessKey{}, meta: map[string][]byte{},
		users: map[string]*store.User{}, groups: map[string]*store.Group{}, roles: map[string]*store.Role{},
		members: map[string]map[string]bool{}, policies: map[string]*store.ManagedPolicy{},
		versions: map[string][]store.PolicyVersion{}, nextVer: map[string]int{}, inline: map[string]store.InlinePolicy{},
		attached: map[string][]string{}, oidc: map[string]*store.OIDCProvider{}}
}

func k2(acct, name string) string { return acct + "/" + strings.ToLower(name) }

func ek(acct string, kind store.EntityKind, name string) string {
	return acct + "/" + string(kind) + "/" + strings.ToLower(name)
}

func nf(what string) error { return fmt.Errorf("%s: %w", what, store.ErrNotFound) }

// page applies a store.Page to items ordered by name.
func page[T any](items []T, name func(T) string, path func(T) string, p store.Page) ([]T, bool) {
	slices.SortFunc(items, func(a, b T) int { return strings.Compare(strings.ToLower(name(a)), strings.ToLower(name(b))) })
	var out []T
	for _, it := range items {
		if p.Marker != "" && strings.ToLower(name(it)) <= strings.ToLower(p.Marker) {
			continue
		}
		if p.PathPrefix != "" && path != nil && !strings.HasPrefix(path(it), p.PathPrefix) {
			continue
		}
		out = append(out, it)
	}
	max := p.MaxItems
	if max <= 0 {
		max = 100
	}
	if len(out) > max {
		return out[:max], true
	}
	return out, false
}

// Store.

func (m *memStore) CreateAccount(_ context.Context, a store.Account) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.accounts[a.ID]; ok {
		return store.ErrConflict
	}
	m.accounts[a.ID] = a
	return nil
}

func (m *memStore) GetAccount(_ context.Context, id string) (store.Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.accounts[id]
	if !ok {
		return a, nf("account")
	}
	return a, nil
}

func (m *memStore) ListAccounts(context.Context) ([]store.Account, error) { return nil, nil }

func (m *memStore) CreateAccessKey(_ context.Context, k store.AccessKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.createKey(k)
}

func (m *memStore) createKey(k store.AccessKey) error {
	if _, ok := m.keys[k.AccessKeyID]; ok {
		return store.ErrConflict
	}
	m.keys[k.AccessKeyID] = k
	m.keyOrder = append(m.keyOrder, k.AccessKeyID)
	return nil
}

func (m *memStore) GetAccessKey(_ context.Context, id string) (store.AccessKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[id]
	if !ok {
		return k, nf("key")
	}
	return k, nil
}

func (m *memStore) ListAccessKeys(_ context.Context, arn string) ([]store.AccessKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.listKeys(arn), nil
}

func (m *memStore) listKeys(arn string) []store.AccessKey {
	var out []store.AccessKey
	for _, id := range m.keyOrder {
		if k, ok := m.keys[id]; ok && k.PrincipalARN == arn {
			out = append(out, k)
		}
	}
	return out
}

func (m *memStore) SetAccessKeyStatus(_ context.Context, id string, st store.KeyStatus) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[id]
	if !ok {
		return nf("key")
	}
	k.Status = st
	m.keys[id] = k
	return nil
}

func (m *memStore) TouchAccessKey(_ context.Context, id string, at time.Time, region, service string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[id]
	if !ok {
		return nf("key")
	}
	k.LastUsedAt, k.LastUsedRegion, k.LastUsedService = at, region, service
	m.keys[id] = k
	return nil
}

func (m *memStore) DeleteAccessKey(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.keys[id]; !ok {
		return nf("key")
	}
	delete(m.keys, id)
	return nil
}

func (m *memStore) GetMeta(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.meta[key]
	if !ok {
		return nil, nf("meta")
	}
	return v, nil
}

func (m *memStore) PutMetaIfAbsent(_ context.Context, key string, v []byte) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.meta[key]; ok {
		return false, nil
	}
	m.meta[key] = v
	return true, nil
}

func (m *memStore) Reset(context.Context) error { return nil }
func (m *memStore) Ping(context.Context) error  { return nil }
func (m *memStore) Close() error                { return nil }

// IAM.

func (m *memStore) IAMGeneration(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gen, nil
}

func (m *memStore) CreateUser(_ context.Context, u store.User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := k2(u.AccountID, u.UserName)
	if _, ok := m.users[k]; ok {
		return store.ErrConflict
	}
	u.Tags = slices.Clone(u.Tags)
	m.users[k] = &u
	m.gen++
	return nil
}

func (m *memStore) GetUser(_ context.Context, acct, name string) (store.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[k2(acct, name)]
	if !ok {
		return store.User{}, nf("user")
	}
	c := *u
	c.Tags = slices.Clone(u.Tags)
	return c, nil
}

func (m *memStore) ListUsers(_ context.Context, acct string, p store.Page) ([]store.User, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var all []store.User
	for _, u := range m.users {
		if u.AccountID == acct {
			all = append(all, *u)
		}
	}
	out, more := page(all, func(u store.User) string { return u.UserName }, func(u store.User) string { return u.Path }, p)
	return out, more, nil
}

func (m *memStore) UpdateUser(_ context.Context, acct, name, newName, newPath string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := k2(acct, name)
	u, ok := m.users[k]
	if !ok {
		return nf("user")
	}
	if newPath != "" {
		u.Path = newPath
	}
	oldARN := u.ARN
	if newName != "" && !strings.EqualFold(newName, name) {
		nk := k2(acct, newName)
		if _, ok := m.users[nk]; ok {
			return store.ErrConflict
		}
		delete(m.users, k)
		m.users[nk] = u
		m.rekey(acct, store.EntityUser, name, newName)
		for _, mem := range m.members {
			if mem[k] {
				delete(mem, k)
				mem[nk] = true
			}
		}
	}
	if newName != "" {
		u.UserName = newName
	}
	u.ARN = "arn:aws:iam::" + acct + ":user" + u.Path + u.UserName
	for id, key := range m.keys {
		if key.PrincipalARN == oldARN {
			key.PrincipalARN, key.UserName = u.ARN, u.UserName
			m.keys[id] = key
		}
	}
	m.gen++
	return nil
}

// rekey moves inline policies and attachments to a new entity name.
func (m *memStore) rekey(acct string, kind store.EntityKind, oldName, newName string) {
	ok, nk := ek(acct, kind, oldName), ek(acct, kind, newName)
	for key, p := range m.inline {
		if strings.HasPrefix(key, ok+"/") {
			delete(m.inline, key)
			p.EntityName = newName
			m.inline[nk+"/"+p.PolicyName] = p
		}
	}
	if a, found := m.attached[ok]; found {
		delete(m.attached, ok)
		m.attached[nk] = a
	}
}

func (m *memStore) hasPolicies(acct string, kind store.EntityKind, name string) bool {
	prefix := ek(acct, kind, name) + "/"
	for key := range m.inline {
		if strings.HasPrefix(key, prefix) {
			return true
		}
	}
	return len(m.attached[ek(acct, kind, name)]) > 0
}

func (m *memStore) DeleteUser(_ context.Context, acct, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := k2(acct, name)
	u, ok := m.users[k]
	if !ok {
		return nf("user")
	}
	if len(m.listKeys(u.ARN)) > 0 || m.hasPolicies(acct, store.EntityUser, name) {
		return store.ErrDeleteConflict
	}
	for _, mem := range m.members {
		if mem[k] {
			return store.ErrDeleteConflict
		}
	}
	delete(m.users, k)
	m.gen++
	return nil
}

func (m *memStore) SetUserBoundary(_ context.Context, acct, name, arn string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[k2(acct, name)]
	if !ok {
		return nf("user")
	}
	u.PermissionsBoundary = arn
	m.gen++
	return nil
}

func (m *memStore) CreateUserAccessKey(_ context.Context, k store.AccessKey, maxKeys int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[k2(k.AccountID, k.UserName)]; !ok {
		return nf("user")
	}
	if len(m.listKeys(k.PrincipalARN)) >= maxKeys {
		return store.ErrLimitExceeded
	}
	return m.createKey(k)
}

func (m *memStore) CreateGroup(_ context.Context, g store.Group) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := k2(g.AccountID, g.GroupName)
	if _, ok := m.groups[k]; ok {
		return store.ErrConflict
	}
	m.groups[k] = &g
	m.members[k] = map[string]bool{}
	m.gen++
	return nil
}

func (m *memStore) GetGroup(_ context.Context, acct, name string) (store.Group, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.groups[k2(acct, name)]
	if !ok {
		return store.Group{}, nf("group")
	}
	return *g, nil
}

func (m *memStore) ListGroups(_ context.Context, acct string, p store.Page) ([]store.Group, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var all []store.Group
	for _, g := range m.groups {
		if g.AccountID == acct {
			all = append(all, *g)
		}
	}
	out, more := page(all, func(g store.Group) string { return g.GroupName }, func(g store.Group) string { return g.Path }, p)
	return out, more, nil
}

func (m *memStore) UpdateGroup(_ context.Context, acct, name, newName, newPath string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := k2(acct, name)
	g, ok := m.groups[k]
	if !ok {
		return nf("group")
	}
	if newName != "" && !strings.EqualFold(newName, name) {
		nk := k2(acct, newName)
		if _, ok := m.groups[nk]; ok {
			return store.ErrConflict
		}
		delete(m.groups, k)
		m.groups[nk] = g
		m.members[nk] = m.members[k]
		delete(m.members, k)
		m.rekey(acct, store.EntityGroup, name, newName)
	}
	if newName != "" {
		g.GroupName = newName
	}
	if newPath != "" {
		g.Path = newPath
	}
	g.ARN = "arn:aws:iam::" + acct + ":group" + g.Path + g.GroupName
	m.gen++
	return nil
}

func (m *memStore) DeleteGroup(_ context.Context, acct, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := k2(acct, name)
	if _, ok := m.groups[k]; !ok {
		return nf("group")
	}
	if len(m.members[k]) > 0 || m.hasPolicies(acct, store.EntityGroup, name) {
		return store.ErrDeleteConflict
	}
	delete(m.groups, k)
	delete(m.members, k)
	m.gen++
	return nil
}

func (m *memStore) AddUserToGroup(_ context.Context, acct, group, user string, maxGroups int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	gk, uk := k2(acct, group), k2(acct, user)
	if _, ok := m.groups[gk]; !ok {
		return nf("group")
	}
	if _, ok := m.users[uk]; !ok {
		return nf("user")
	}
	if m.members[gk][uk] {
		return nil
	}
	n := 0
	for _, mem := range m.members {
		if mem[uk] {
			n++
		}
	}
	if n >= maxGroups {
		return store.ErrLimitExceeded
	}
	m.members[gk][uk] = true
	m.gen++
	return nil
}

func (m *memStore) RemoveUserFromGroup(_ context.Context, acct, group, user string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	gk, uk := k2(acct, group), k2(acct, user)
	if !m.members[gk][uk] {
		return nf("membership")
	}
	delete(m.members[gk], uk)
	m.gen++
	return nil
}

func (m *memStore) ListGroupMembers(_ context.Context, acct, group string, p store.Page) ([]store.User, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	gk := k2(acct, group)
	if _, ok := m.groups[gk]; !ok {
		return nil, false, nf("group")
	}
	var all []store.User
	for uk := range m.members[gk] {
		all = append(all, *m.users[uk])
	}
	out, more := page(all, func(u store.User) string { return u.UserName }, nil, p)
	return out, more, nil
}

func (m *memStore) ListGroupsForUser(_ context.Context, acct, user string, p store.Page) ([]store.Group, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	uk := k2(acct, user)
	if _, ok := m.users[uk]; !ok {
		return nil, false, nf("user")
	}
	var all []store.Group
	for gk, mem := range m.members {
		if mem[uk] {
			all = append(all, *m.groups[gk])
		}
	}
	out, more := page(all, func(g store.Group) string { return g.GroupName }, nil, p)
	return out, more, nil
}

func (m *memStore) CreateRole(_ context.Context, r store.Role) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := k2(r.AccountID, r.RoleName)
	if _, ok := m.roles[k]; ok {
		return store.ErrConflict
	}
	r.Tags = slices.Clone(r.Tags)
	m.roles[k] = &r
	m.gen++
	return nil
}

func (m *memStore) GetRole(_ context.Context, acct, name string) (store.Role, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.roles[k2(acct, name)]
	if !ok {
		return store.Role{}, nf("role")
	}
	c := *r
	c.Tags = slices.Clone(r.Tags)
	return c, nil
}

func (m *memStore) ListRoles(_ context.Context, acct string, p store.Page) ([]store.Role, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var all []store.Role
	for _, r := range m.roles {
		if r.AccountID == acct {
			all = append(all, *r)
		}
	}
	out, more := page(all, func(r store.Role) string { return r.RoleName }, func(r store.Role) string { return r.Path }, p)
	return out, more, nil
}

func (m *memStore) UpdateRole(_ context.Context, acct, name string, desc *string, maxDur *int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.roles[k2(acct, name)]
	if !ok {
		return nf("role")
	}
	if desc != nil {
		r.Description = *desc
	}
	if maxDur != nil {
		r.MaxSessionDuration = *maxDur
	}
	m.gen++
	return nil
}

func (m *memStore) UpdateAssumeRolePolicy(_ context.Context, acct, name, doc string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.roles[k2(acct, name)]
	if !ok {
		return nf("role")
	}
	r.AssumeRolePolicyDocument = doc
	m.gen++
	return nil
}

func (m *memStore) SetRoleBoundary(_ context.Context, acct, name, arn string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.roles[k2(acct, name)]
	if !ok {
		return nf("role")
	}
	r.PermissionsBoundary = arn
	m.gen++
	return nil
}

func (m *memStore) TouchRole(_ context.Context, acct, name string, at time.Time, region string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.roles[k2(acct, name)]
	if !ok {
		return nf("role")
	}
	r.LastUsedAt, r.LastUsedRegion = at, region
	return nil
}

func (m *memStore) DeleteRole(_ context.Context, acct, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := k2(acct, name)
	if _, ok := m.roles[k]; !ok {
		return nf("role")
	}
	if m.hasPolicies(acct, store.EntityRole, name) {
		return store.ErrDeleteConflict
	}
	delete(m.roles, k)
	m.gen++
	return nil
}

func (m *memStore) tagsOf(acct string, kind store.TagTarget, id string) (*[]store.Tag, error) {
	switch kind {
	case store.TagUser:
		if u, ok := m.users[k2(acct, id)]; ok {
			return &u.Tags, nil
		}
	case store.TagRole:
		if r, ok := m.roles[k2(acct, id)]; ok {
			return &r.Tags, nil
		}
	case store.TagPolicy:
		if p, ok := m.policies[id]; ok {
			return &p.Tags, nil
		}
	case store.TagOIDCProvider:
		if p, ok := m.oidc[id]; ok {
			return &p.Tags, nil
		}
	}
	return nil, nf(string(kind))
}

func (m *memStore) TagResource(_ context.Context, acct string, kind store.TagTarget, id string, tags []store.Tag, maxTags int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	tp, err := m.tagsOf(acct, kind, id)
	if err != nil {
		return err
	}
	merged := slices.Clone(*tp)
	for _, t := range tags {
		i := slices.IndexFunc(merged, func(o store.Tag) bool { return strings.EqualFold(o.Key, t.Key) })
		if i >= 0 {
			merged[i].Value = t.Value
		} else {
			merged = append(merged, t)
		}
	}
	if len(merged) > maxTags {
		return store.ErrLimitExceeded
	}
	*tp = merged
	m.gen++
	return nil
}

func (m *memStore) UntagResource(_ context.Context, acct string, kind store.TagTarget, id string, keys []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	tp, err := m.tagsOf(acct, kind, id)
	if err != nil {
		return err
	}
	*tp = slices.DeleteFunc(slices.Clone(*tp), func(t store.Tag) bool {
		return slices.ContainsFunc(keys, func(k string) bool { return strings.EqualFold(k, t.Key) })
	})
	m.gen++
	return nil
}

func (m *memStore) CreatePolicy(_ context.Context, p store.ManagedPolicy, doc string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.policies {
		if o.AccountID == p.AccountID && strings.EqualFold(o.PolicyName, p.PolicyName) {
			return store.ErrConflict
		}
	}
	p.Tags = slices.Clone(p.Tags)
	p.DefaultVersionID = "v1"
	m.policies[p.ARN] = &p
	m.versions[p.ARN] = []store.PolicyVersion{{PolicyARN: p.ARN, VersionID: "v1", Document: doc, IsDefault: true, CreatedAt: p.CreatedAt}}
	m.nextVer[p.ARN] = 2
	m.gen++
	return nil
}

func (m *memStore) counts(p *store.ManagedPolicy) store.ManagedPolicy {
	c := *p
	c.Tags = slices.Clone(p.Tags)
	c.AttachmentCount, c.PermissionsBoundaryUsageCount = 0, 0
	for _, arns := range m.attached {
		if slices.Contains(arns, p.ARN) {
			c.AttachmentCount++
		}
	}
	for _, u := range m.users {
		if u.PermissionsBoundary == p.ARN {
			c.PermissionsBoundaryUsageCount++
		}
	}
	for _, r := range m.roles {
		if r.PermissionsBoundary == p.ARN {
			c.PermissionsBoundaryUsageCount++
		}
	}
	return c
}

func (m *memStore) GetPolicy(_ context.Context, arn string) (store.ManagedPolicy, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.policies[arn]
	if !ok {
		return store.ManagedPolicy{}, nf("policy")
	}
	return m.counts(p), nil
}

func (m *memStore) ListPolicies(_ context.Context, acct, scope string, onlyAttached bool, pg store.Page) ([]store.ManagedPolicy, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var all []store.ManagedPolicy
	for _, p := range m.policies {
		local := p.AccountID == acct
		aws := p.AccountID == "aws"
		if scope == "Local" && !local || scope == "AWS" && !aws || !local && !aws {
			continue
		}
		c := m.counts(p)
		if onlyAttached && c.AttachmentCount == 0 {
			continue
		}
		all = append(all, c)
	}
	out, more := page(all, func(p store.ManagedPolicy) string { return p.PolicyName },
		func(p store.ManagedPolicy) string { return p.Path }, pg)
	return out, more, nil
}

func (m *memStore) DeletePolicy(_ context.Context, arn string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.policies[arn]
	if !ok {
		return nf("policy")
	}
	c := m.counts(p)
	if c.AttachmentCount > 0 || c.PermissionsBoundaryUsageCount > 0 || len(m.versions[arn]) > 1 {
		return store.ErrDeleteConflict
	}
	delete(m.policies, arn)
	delete(m.versions, arn)
	m.gen++
	return nil
}

func (m *memStore) CreatePolicyVersion(_ context.Context, arn, doc string, setDefault bool, maxVersions int, at time.Time) (store.PolicyVersion, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.policies[arn]
	if !ok {
		return store.PolicyVersion{}, nf("policy")
	}
	if len(m.versions[arn]) >= maxVersions {
		return store.PolicyVersion{}, store.ErrLimitExceeded
	}
	v := store.PolicyVersion{PolicyARN: arn, VersionID: fmt.Sprintf("v%d", m.nextVer[arn]), Document: doc, CreatedAt: at}
	m.nextVer[arn]++
	if setDefault {
		for i := range m.versions[arn] {
			m.versions[arn][i].IsDefault = false
		}
		v.IsDefault = true
		p.DefaultVersionID = v.VersionID
		p.UpdatedAt = at
	}
	m.versions[arn] = append(m.versions[arn], v)
	m.gen++
	return v, nil
}

func (m *memStore) GetPolicyVersion(_ context.Context, arn, id string) (store.PolicyVersion, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, v := range m.versions[arn] {
		if v.VersionID == id {
			return v, nil
		}
	}
	return store.PolicyVersion{}, nf("version")
}

func (m *memStore) ListPolicyVersions(_ context.Context, arn string) ([]store.PolicyVersion, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.policies[arn]; !ok {
		return nil, nf("policy")
	}
	return slices.Clone(m.versions[arn]), nil
}

func (m *memStore) SetDefaultPolicyVersion(_ context.Context, arn, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.policies[arn]
	if !ok {
		return nf("policy")
	}
	vs := m.versions[arn]
	i := slices.IndexFunc(vs, func(v store.PolicyVersion) bool { return v.VersionID == id })
	if i < 0 {
		return nf("version")
	}
	for j := range vs {
		vs[j].IsDefault = j == i
	}
	p.DefaultVersionID = id
	m.gen++
	return nil
}

func (m *memStore) DeletePolicyVersion(_ context.Context, arn, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	vs := m.versions[arn]
	i := slices.IndexFunc(vs, func(v store.PolicyVersion) bool { return v.VersionID == id })
	if i < 0 {
		return nf("version")
	}
	if vs[i].IsDefault {
		return store.ErrDeleteConflict
	}
	m.versions[arn] = slices.Delete(vs, i, i+1)
	m.gen++
	return nil
}

func (m *memStore) entityExists(acct string, kind store.EntityKind, name string) bool {
	switch kind {
	case store.EntityUser:
		_, ok := m.users[k2(acct, name)]
		return ok
	case store.EntityGroup:
		_, ok := m.groups[k2(acct, name)]
		return ok
	case store.EntityRole:
		_, ok := m.roles[k2(acct, name)]
		return ok
	}
	return false
}

func (m *memStore) AttachPolicy(_ context.Context, acct string, kind store.EntityKind, entity, arn string, maxAttached int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.entityExists(acct, kind, entity) {
		return nf(string(kind))
	}
	if _, ok := m.policies[arn]; !ok {
		return nf("policy")
	}
	k := ek(acct, kind, entity)
	if slices.Contains(m.attached[k], arn) {
		return nil
	}
	if len(m.attached[k]) >= maxAttached {
		return store.ErrLimitExceeded
	}
	m.attached[k] = append(m.attached[k], arn)
	m.gen++
	return nil
}

func (m *memStore) DetachPolicy(_ context.Context, acct string, kind store.EntityKind, entity, arn string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := ek(acct, kind, entity)
	i := slices.Index(m.attached[k], arn)
	if i < 0 {
		return nf("attachment")
	}
	m.attached[k] = slices.Delete(m.attached[k], i, i+1)
	m.gen++
	return nil
}

func (m *memStore) ListAttachedPolicies(_ context.Context, acct string, kind store.EntityKind, entity string, p store.Page) ([]store.ManagedPolicy, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.entityExists(acct, kind, entity) {
		return nil, false, nf(string(kind))
	}
	var all []store.ManagedPolicy
	for _, arn := range m.attached[ek(acct, kind, entity)] {
		all = append(all, m.counts(m.policies[arn]))
	}
	out, more := page(all, func(p store.ManagedPolicy) string { return p.PolicyName },
		func(p store.ManagedPolicy) string { return p.Path }, p)
	return out, more, nil
}

func (m *memStore) ListEntitiesForPolicy(_ context.Context, arn string) ([]store.InlinePolicy, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.policies[arn]; !ok {
		return nil, nf("policy")
	}
	var out []store.InlinePolicy
	for k, arns := range m.attached {
		if !slices.Contains(arns, arn) {
			continue
		}
		parts := strings.SplitN(k, "/", 3)
		kind := store.EntityKind(parts[1])
		name := parts[2]
		switch kind {
		case store.EntityUser:
			name = m.users[k2(parts[0], name)].UserName
		case store.EntityGroup:
			name = m.groups[k2(parts[0], name)].GroupName
		case store.EntityRole:
			name = m.roles[k2(parts[0], name)].RoleName
		}
		out = append(out, store.InlinePolicy{AccountID: parts[0], EntityKind: kind, EntityName: name})
	}
	return out, nil
}

func (m *memStore) PutInlinePolicy(_ context.Context, p store.InlinePolicy) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.entityExists(p.AccountID, p.EntityKind, p.EntityName) {
		return nf(string(p.EntityKind))
	}
	m.inline[ek(p.AccountID, p.EntityKind, p.EntityName)+"/"+p.PolicyName] = p
	m.gen++
	return nil
}

func (m *memStore) GetInlinePolicy(_ context.Context, acct string, kind store.EntityKind, entity, name string) (store.InlinePolicy, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.inline[ek(acct, kind, entity)+"/"+name]
	if !ok {
		return p, nf("inline policy")
	}
	return p, nil
}

func (m *memStore) ListInlinePolicies(_ context.Context, acct string, kind store.EntityKind, entity string, p store.Page) ([]string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.entityExists(acct, kind, entity) {
		return nil, false, nf(string(kind))
	}
	prefix := ek(acct, kind, entity) + "/"
	var names []string
	for k, ip := range m.inline {
		if strings.HasPrefix(k, prefix) {
			names = append(names, ip.PolicyName)
		}
	}
	out, more := page(names, func(s string) string { return s }, nil, p)
	return out, more, nil
}

func (m *memStore) DeleteInlinePolicy(_ context.Context, acct string, kind store.EntityKind, entity, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := ek(acct, kind, entity) + "/" + name
	if _, ok := m.inline[k]; !ok {
		return nf("inline policy")
	}
	delete(m.inline, k)
	m.gen++
	return nil
}

func (m *memStore) CreateOIDCProvider(_ context.Context, p store.OIDCProvider) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.oidc[p.ARN]; ok {
		return store.ErrConflict
	}
	m.oidc[p.ARN] = &p
	m.gen++
	return nil
}

func (m *memStore) GetOIDCProvider(_ context.Context, arn string) (store.OIDCProvider, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.oidc[arn]
	if !ok {
		return store.OIDCProvider{}, nf("oidc")
	}
	c := *p
	c.ClientIDs, c.Thumbprints, c.Tags = slices.Clone(p.ClientIDs), slices.Clone(p.Thumbprints), slices.Clone(p.Tags)
	return c, nil
}

func (m *memStore) ListOIDCProviders(_ context.Context, acct string) ([]store.OIDCProvider, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.OIDCProvider
	for _, p := range m.oidc {
		if p.AccountID == acct {
			out = append(out, *p)
		}
	}
	slices.SortFunc(out, func(a, b store.OIDCProvider) int { return strings.Compare(a.ARN, b.ARN) })
	return out, nil
}

func (m *memStore) UpdateOIDCProvider(_ context.Context, arn string, clientIDs, thumbprints []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.oidc[arn]
	if !ok {
		return nf("oidc")
	}
	p.ClientIDs, p.Thumbprints = slices.Clone(clientIDs), slices.Clone(thumbprints)
	m.gen++
	return nil
}

func (m *memStore) DeleteOIDCProvider(_ context.Context, arn string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.oidc[arn]; !ok {
		return nf("oidc")
	}
	delete(m.oidc, arn)
	m.gen++
	return nil
}

var (
	_ store.Store = (*memStore)(nil)
	_ store.IAM   = (*memStore)(nil)
)
