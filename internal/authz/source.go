package authz

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/policy"
	"github.com/bulwark-security/bulwark/internal/store"
)

// Identity is what the identity side of evaluation needs about a principal:
// its compiled identity-based policies, its permissions boundary and its
// tags (aws:PrincipalTag).
type Identity struct {
	Policies []*policy.Policy
	Boundary *policy.Policy
	Tags     []store.Tag
}

// ErrNoSuchPrincipal means the principal's user or role no longer exists:
// its requests are denied.
var ErrNoSuchPrincipal = errors.New("authz: principal no longer exists")

// StoreSource loads principals' policies from the IAM store, compiles them
// once and caches them. The cache is keyed by the store's IAM generation,
// which every IAM write increases: a change made through this server is seen
// by its next request (Invalidate), and one made through another server
// sharing the database within GenerationPoll.
type StoreSource struct {
	IAM store.IAM
	// GenerationPoll bounds how often the generation is read; zero means
	// 100 ms.
	GenerationPoll time.Duration
	Now            func() time.Time

	gen      atomic.Int64
	genRead  atomic.Int64 // unix nanos of the last read
	stale    atomic.Bool
	mu       sync.RWMutex
	idents   map[string]*cachedIdentity
	sessions map[string]*cachedSession
}

type cachedIdentity struct {
	gen int64
	id  *Identity
	err error
}

type cachedSession struct {
	gen      int64
	policies []*policy.Policy
	err      error
}

// maxCached bounds each cache; past it the cache is emptied (principals are
// few, sessions policies fewer: this only bites under attack).
const maxCached = 10000

// Invalidate makes the next request re-read the generation; the IAM service
// calls it after each write.
func (s *StoreSource) Invalidate() { s.stale.Store(true) }

func (s *StoreSource) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// generation returns the current IAM generation, reading the store at most
// every GenerationPoll unless invalidated.
func (s *StoreSource) generation(ctx context.Context) (int64, error) {
	poll := s.GenerationPoll
	if poll == 0 {
		poll = 100 * time.Millisecond
	}
	now := s.now().UnixNano()
	if !s.stale.Load() && now-s.genRead.Load() < int64(poll) && s.genRead.Load() != 0 {
		return s.gen.Load(), nil
	}
	s.stale.Store(false)
	g, err := s.IAM.IAMGeneration(ctx)
	if err != nil {
		return 0, fmt.Errorf("read IAM generation: %w", err)
	}
	s.gen.Store(g)
	s.genRead.Store(now)
	return g, nil
}

// Identity returns the principal's policies. Root has none (it is allowed
// by the evaluation's root rule).
func (s *StoreSource) Identity(ctx context.Context, p *api.Principal) (*Identity, error) {
	var kind store.EntityKind
	var name string
	switch {
	case p.Type == "IAMUser" || (p.Temporary && p.RoleName == "" && p.UserName != ""):
		kind, name = store.EntityUser, p.UserName
	case p.RoleName != "":
		kind, name = store.EntityRole, p.RoleName
	default:
		return &Identity{}, nil
	}
	gen, err := s.generation(ctx)
	if err != nil {
		return nil, err
	}
	key := p.AccountID + "/" + string(kind) + "/" + strings.ToLower(name)
	s.mu.RLock()
	c := s.idents[key]
	s.mu.RUnlock()
	if c != nil && c.gen == gen {
		return c.id, c.err
	}
	id, err := s.loadIdentity(ctx, p.AccountID, kind, name)
	if err != nil && !errors.Is(err, ErrNoSuchPrincipal) {
		return nil, err
	}
	s.mu.Lock()
	if s.idents == nil || len(s.idents) >= maxCached {
		s.idents = make(map[string]*cachedIdentity)
	}
	s.idents[key] = &cachedIdentity{gen: gen, id: id, err: err}
	s.mu.Unlock()
	return id, err
}

// EntityIdentity loads (without caching) the policies of one user, group or
// role, for policy simulation. A group's Identity has its own policies only.
func (s *StoreSource) EntityIdentity(ctx context.Context, account string, kind store.EntityKind, name string) (*Identity, error) {
	return s.loadIdentity(ctx, account, kind, name)
}

// Managed compiles the default version of a managed policy.
func (s *StoreSource) Managed(ctx context.Context, arn string) (*policy.Policy, error) {
	return s.managed(ctx, arn)
}

func (s *StoreSource) loadIdentity(ctx context.Context, account string, kind store.EntityKind, name string) (*Identity, error) {
	id := &Identity{}
	var boundaryARN string
	switch kind {
	case store.EntityGroup:
		g, err := s.IAM.GetGroup(ctx, account, name)
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrNoSuchPrincipal
		} else if err != nil {
			return nil, fmt.Errorf("load group %s: %w", name, err)
		}
		if err := s.addEntityPolicies(ctx, id, account, store.EntityGroup, g.GroupName, policy.KindGroupInline); err != nil {
			return nil, err
		}
	case store.EntityUser:
		u, err := s.IAM.GetUser(ctx, account, name)
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrNoSuchPrincipal
		} else if err != nil {
			return nil, fmt.Errorf("load user %s: %w", name, err)
		}
		boundaryARN, id.Tags = u.PermissionsBoundary, u.Tags
		if err := s.addEntityPolicies(ctx, id, account, store.EntityUser, u.UserName, policy.KindUserInline); err != nil {
			return nil, err
		}
		groups, err := listAll(func(p store.Page) ([]store.Group, bool, error) {
			return s.IAM.ListGroupsForUser(ctx, account, u.UserName, p)
		}, func(g store.Group) string { return g.GroupName })
		if err != nil {
			return nil, fmt.Errorf("list groups of user %s: %w", name, err)
		}
		for _, g := range groups {
			if err := s.addEntityPolicies(ctx, id, account, store.EntityGroup, g.GroupName, policy.KindGroupInline); err != nil {
				return nil, err
			}
		}
	case store.EntityRole:
		r, err := s.IAM.GetRole(ctx, account, name)
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrNoSuchPrincipal
		} else if err != nil {
			return nil, fmt.Errorf("load role %s: %w", name, err)
		}
		boundaryARN, id.Tags = r.PermissionsBoundary, r.Tags
		if err := s.addEntityPolicies(ctx, id, account, store.EntityRole, r.RoleName, policy.KindRoleInline); err != nil {
			return nil, err
		}
	}
	if boundaryARN != "" {
		b, err := s.managed(ctx, boundaryARN)
		if err != nil {
			return nil, err
		}
		id.Boundary = b
	}
	return id, nil
}

// addEntityPolicies appends the inline and attached policies of one user,
// group or role.
func (s *StoreSource) addEntityPolicies(ctx context.Context, id *Identity, account string, kind store.EntityKind, name string, inlineKind policy.Kind) error {
	names, err := listAll(func(p store.Page) ([]string, bool, error) {
		return s.IAM.ListInlinePolicies(ctx, account, kind, name, p)
	}, func(n string) string { return n })
	if err != nil {
		return fmt.Errorf("list inline policies of %s %s: %w", kind, name, err)
	}
	for _, pn := range names {
		ip, err := s.IAM.GetInlinePolicy(ctx, account, kind, name, pn)
		if err != nil {
			return fmt.Errorf("load inline policy %s of %s %s: %w", pn, kind, name, err)
		}
		// Stored documents were validated when written; the size limit
		// was checked then too.
		pol, err := policy.ParseOptions([]byte(ip.Document), policy.Options{Kind: inlineKind, SizeLimit: -1,
			ID: string(kind) + "/" + name + "/" + pn})
		if err != nil {
			return fmt.Errorf("compile inline policy %s of %s %s: %w", pn, kind, name, err)
		}
		id.Policies = append(id.Policies, pol)
	}
	attached, err := listAll(func(p store.Page) ([]store.ManagedPolicy, bool, error) {
		return s.IAM.ListAttachedPolicies(ctx, account, kind, name, p)
	}, func(m store.ManagedPolicy) string { return m.PolicyName })
	if err != nil {
		return fmt.Errorf("list attached policies of %s %s: %w", kind, name, err)
	}
	for _, m := range attached {
		pol, err := s.managed(ctx, m.ARN)
		if err != nil {
			return err
		}
		id.Policies = append(id.Policies, pol)
	}
	return nil
}

// managed compiles the default version of a managed policy.
func (s *StoreSource) managed(ctx context.Context, arn string) (*policy.Policy, error) {
	m, err := s.IAM.GetPolicy(ctx, arn)
	if err != nil {
		return nil, fmt.Errorf("load managed policy %s: %w", arn, err)
	}
	v, err := s.IAM.GetPolicyVersion(ctx, arn, m.DefaultVersionID)
	if err != nil {
		return nil, fmt.Errorf("load managed policy %s version %s: %w", arn, m.DefaultVersionID, err)
	}
	pol, err := policy.ParseOptions([]byte(v.Document), policy.Options{Kind: policy.KindIdentity, SizeLimit: -1, ID: arn})
	if err != nil {
		return nil, fmt.Errorf("compile managed policy %s: %w", arn, err)
	}
	return pol, nil
}

// SessionPolicies compiles a session's inline policy and managed policy
// ARNs (nil when the session has none).
func (s *StoreSource) SessionPolicies(ctx context.Context, p *api.Principal) ([]*policy.Policy, error) {
	if p.SessionPolicy == "" && len(p.SessionPolicyARNs) == 0 {
		return nil, nil
	}
	gen, err := s.generation(ctx)
	if err != nil {
		return nil, err
	}
	key := p.SessionPolicy + "\x00" + strings.Join(p.SessionPolicyARNs, "\x00")
	s.mu.RLock()
	c := s.sessions[key]
	s.mu.RUnlock()
	if c != nil && c.gen == gen {
		return c.policies, c.err
	}
	var pols []*policy.Policy
	if p.SessionPolicy != "" {
		pol, err := policy.ParseOptions([]byte(p.SessionPolicy), policy.Options{Kind: policy.KindSession, SizeLimit: -1, ID: "session-policy"})
		if err != nil {
			return nil, fmt.Errorf("compile session policy: %w", err)
		}
		pols = append(pols, pol)
	}
	for _, a := range p.SessionPolicyARNs {
		pol, err := s.managed(ctx, a)
		if err != nil {
			return nil, err
		}
		pols = append(pols, pol)
	}
	s.mu.Lock()
	if s.sessions == nil || len(s.sessions) >= maxCached {
		s.sessions = make(map[string]*cachedSession)
	}
	s.sessions[key] = &cachedSession{gen: gen, policies: pols}
	s.mu.Unlock()
	return pols, nil
}

// listAll pages through a store listing.
func listAll[T any](list func(store.Page) ([]T, bool, error), name func(T) string) ([]T, error) {
	var all []T
	p := store.Page{MaxItems: 1000}
	for range 1000 {
		items, more, err := list(p)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if !more || len(items) == 0 {
			return all, nil
		}
		p.Marker = name(items[len(items)-1])
	}
	return nil, errors.New("listing did not end")
}
