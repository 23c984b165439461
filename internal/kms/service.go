package kms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/arn"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/policy"
	"github.com/bulwark-security/bulwark/internal/store"
)

// Keyring seals key material before it reaches the store.
type Keyring interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// Config is what the KMS service needs.
type Config struct {
	Store   store.KMS
	Keyring Keyring
	// Authorizer is the server's: it decides the checks the handlers make
	// themselves (the destination key of ReEncrypt, an alias's ARN, the
	// policy lockout check, and every Envelope call).
	Authorizer authz.Authorizer
	Logger     *slog.Logger
	Now        func() time.Time
	// MaterialCache bounds the opened key material kept in memory
	// (default 4096 key versions).
	MaterialCache int
	// StoreTimeout bounds the key lookup made while binding a request,
	// which has no request context of its own (default 5s).
	StoreTimeout time.Duration
	// KeyCacheTTL is how long a key's row (state, policy, gen) read from
	// the store is reused (default 500ms; negative: read every call).
	// Changes made through this server take effect at once; a change made
	// on another server sharing the database (DisableKey,
	// ScheduleKeyDeletion, PutKeyPolicy, RevokeGrant, ...) within this
	// time. AWS documents up to minutes of eventual consistency for the same
	// changes.
	KeyCacheTTL time.Duration
}

// Keys is the KMS service. Its methods GenerateDataKey, Decrypt and
// ResolveKey implement Envelope for other services.
type Keys struct {
	cfg      Config
	svc      *api.Service
	material *materialCache
	policies *policyCache
	rows     *rowCache
	// managed serializes the creation of AWS managed keys in this process
	// (the store's alias uniqueness decides between processes).
	managed sync.Mutex
}

// New builds the KMS service.
func New(cfg Config) (*Keys, error) {
	if cfg.Store == nil || cfg.Keyring == nil || cfg.Authorizer == nil {
		return nil, errors.New("kms: Store, Keyring and Authorizer are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaterialCache <= 0 {
		cfg.MaterialCache = 4096
	}
	if cfg.StoreTimeout <= 0 {
		cfg.StoreTimeout = 5 * time.Second
	}
	if cfg.KeyCacheTTL == 0 {
		cfg.KeyCacheTTL = 500 * time.Millisecond
	}
	k := &Keys{cfg: cfg, material: newMaterialCache(cfg.MaterialCache), policies: newPolicyCache(4096),
		rows: newRowCache(4096, cfg.KeyCacheTTL)}
	k.svc = &api.Service{
		SigningName:        "kms",
		EventSource:        "kms.amazonaws.com",
		Protocol:           api.JSON,
		TargetPrefix:       "TrentService",
		AccessDeniedCode:   "AccessDeniedException",
		AccessDeniedStatus: http.StatusBadRequest,
		Actions:            k.actions(),
	}
	// Index the table now: the handlers look actions up by name for their
	// own checks (the server indexes it again in its registry).
	if _, err := api.NewRegistry(k.svc); err != nil {
		return nil, fmt.Errorf("kms: action table: %w", err)
	}
	return k, nil
}

// Service returns the KMS action table.
func (k *Keys) Service() *api.Service { return k.svc }

// Forget drops every cache (after a dev-mode reset).
func (k *Keys) Forget() {
	k.material.reset()
	k.policies.reset()
	k.rows.reset()
}

// changed drops what this server caches about a key after a change to it.
func (k *Keys) changed(id string) { k.rows.forget(id) }

func (k *Keys) now() time.Time { return k.cfg.Now().UTC() }

// target is the key a request names, resolved while binding the request
// (see keyResources) so authorisation and the handler see the same row.
type target struct {
	key   store.KMSKey
	err   error
	alias string // the alias the request used, for kms:RequestAlias
	entry *policyEntry
}

// keyed is implemented by inputs that name one key.
type keyed interface {
	keyRef() string
	tgt() *target
}

// keyResources resolves the input's key and names its ARN as the
// resource, so the server loads its key policy (keyPolicy) and the handler
// finds the key in the input. A key that cannot be resolved is named by
// what the caller sent; keyPolicy then fails with the resolution error.
func keyResources[In any, P interface {
	*In
	keyed
}](k *Keys) api.Resources[In] {
	return func(c *api.Call, in *In) []string {
		p := P(in)
		t := p.tgt()
		ctx, cancel := context.WithTimeout(context.Background(), k.cfg.StoreTimeout)
		defer cancel()
		k.bindKey(ctx, c, p.keyRef(), t)
		if t.err != nil {
			return []string{unresolved + p.keyRef()}
		}
		return []string{t.key.ARN}
	}
}

// unresolved prefixes the resource of a request whose key did not
// resolve; it is not an ARN, so no policy statement can match it by
// accident.
const unresolved = "unresolved:"

// bindKey resolves ref and loads its policy entry into t.
func (k *Keys) bindKey(ctx context.Context, c *api.Call, ref string, t *target) {
	t.key, t.alias, t.err = k.resolve(ctx, c, ref)
	if t.err == nil {
		t.entry, t.err = k.policies.load(ctx, k, t.key)
	}
}

// keyPolicy is the ResourcePolicy of every action on a key: the key policy
// with the key's grants as extra statements.
func (k *Keys) keyPolicy(ctx context.Context, c *api.Call, resource string) (*policy.Policy, error) {
	if ref, ok := strings.CutPrefix(resource, unresolved); ok {
		// Binding failed: resolve again for the error to answer (the
		// failure path only, so the extra lookup costs nothing normally).
		_, _, err := k.resolve(ctx, c, ref)
		if err == nil {
			err = notFound("Key '%s' does not exist", ref)
		}
		if e := awsproto.As(err); e.Code == codeNotFound && (c.Action.Name == "Decrypt" || c.Action.Name == "ReEncrypt") {
			return nil, invalidCiphertext()
		}
		return nil, err
	}
	a, err := arn.Parse(resource)
	if err != nil || !strings.HasPrefix(a.Resource, "key/") {
		return nil, notFound("Invalid keyId")
	}
	id := strings.TrimPrefix(a.Resource, "key/")
	if e := k.policies.latest(id); e != nil {
		return e.policy, nil
	}
	key, err := k.getKey(ctx, id)
	if err != nil {
		return nil, err
	}
	e, err := k.policies.load(ctx, k, key)
	if err != nil {
		return nil, err
	}
	return e.policy, nil
}

// getKey returns a key by id, from the row cache (KeyCacheTTL) or the store.
func (k *Keys) getKey(ctx context.Context, id string) (store.KMSKey, error) {
	if key, ok := k.rows.get(id); ok {
		return key, nil
	}
	return k.loadKey(ctx, id)
}

// loadKey reads a key from the store (and refreshes the row cache).
func (k *Keys) loadKey(ctx context.Context, id string) (store.KMSKey, error) {
	key, err := k.cfg.Store.GetKMSKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return key, notFound("Key '%s' does not exist", keyARNLike(id))
	}
	if err != nil {
		return key, fmt.Errorf("load key %s: %w", id, err)
	}
	k.rows.put(key)
	return key, nil
}

func keyARNLike(id string) string { return id }

// Key references (AWS: KeyId is a key id, key ARN, alias name or alias ARN).
const maxKeyRef = 2048

func keyARN(region, account, id string) string {
	return "arn:aws:kms:" + region + ":" + account + ":key/" + id
}

func aliasARN(region, account, name string) string {
	return "arn:aws:kms:" + region + ":" + account + ":" + name
}

// resolve finds the key ref names for the caller: a bare key id or alias
// name is looked up in the caller's account and the call's region; an ARN
// in the account and region it names.
func (k *Keys) resolve(ctx context.Context, c *api.Call, ref string) (store.KMSKey, string, error) {
	var none store.KMSKey
	account, region := c.Principal.AccountID, c.Region
	switch {
	case ref == "":
		return none, "", validation("1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null")
	case len(ref) > maxKeyRef:
		return none, "", validation("1 validation error detected: Value at 'keyId' failed to satisfy constraint: Member must have length less than or equal to %d", maxKeyRef)
	case strings.HasPrefix(ref, "arn:"):
		a, err := arn.Parse(ref)
		if err != nil || a.Service != "kms" || !arn.IsAccountID(a.Account) {
			return none, "", notFound("Invalid arn %s", ref)
		}
		if a.Region != region {
			return none, "", notFound("Invalid arn %s", ref)
		}
		if strings.HasPrefix(a.Resource, "alias/") {
			return k.resolveAlias(ctx, c, a.Account, region, a.Resource)
		}
		id, ok := strings.CutPrefix(a.Resource, "key/")
		if !ok || !isUUID(id) {
			return none, "", notFound("Invalid arn %s", ref)
		}
		key, err := k.getKey(ctx, id)
		if err != nil {
			return none, "", err
		}
		if key.AccountID != a.Account || key.Region != region {
			return none, "", notFound("Key '%s' does not exist", ref)
		}
		return key, "", nil
	case strings.HasPrefix(ref, "alias/"):
		return k.resolveAlias(ctx, c, account, region, ref)
	}
	if !isUUID(ref) {
		return none, "", notFound("Invalid keyId '%s'", ref)
	}
	key, err := k.getKey(ctx, ref)
	if err != nil {
		return none, "", err
	}
	if key.AccountID != account || key.Region != region {
		return none, "", notFound("Key '%s' does not exist", keyARN(region, account, ref))
	}
	return key, "", nil
}

func (k *Keys) resolveAlias(ctx context.Context, c *api.Call, account, region, name string) (store.KMSKey, string, error) {
	var none store.KMSKey
	a, err := k.cfg.Store.GetKMSAlias(ctx, account, region, name)
	if errors.Is(err, store.ErrNotFound) {
		if name == managedSecretsAlias && account == c.Principal.AccountID {
			key, err := k.ensureManagedKey(ctx, account, region, name)
			return key, name, err
		}
		return none, "", notFound("Alias %s is not found.", aliasARN(region, account, name))
	}
	if err != nil {
		return none, "", fmt.Errorf("load alias %s: %w", name, err)
	}
	key, err := k.getKey(ctx, a.KeyID)
	return key, name, err
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// uuidBytes converts a (checked) UUID to its 16 bytes.
func uuidBytes(s string) (b [16]byte) {
	j := 0
	for i := 0; i < len(s) && j < 32; i++ {
		c := s[i]
		if c == '-' {
			continue
		}
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		default:
			v = c - 'a' + 10
		}
		b[j/2] |= v << (4 * (1 - j%2))
		j++
	}
	return b
}

func uuidString(b [16]byte) string {
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, x := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexd[x>>4], hexd[x&15])
	}
	return string(out)
}

// usable checks that a key can be used for cryptography now.
func usable(key *store.KMSKey) error {
	switch key.State {
	case stateEnabled:
		return nil
	case stateDisabled:
		return kmsErr(codeDisabled, "%s is disabled.", key.ARN)
	case statePendingDeletion:
		return kmsErr(codeInvalidState, "%s is pending deletion.", key.ARN)
	}
	return kmsErr(codeInvalidState, "%s is %s.", key.ARN, key.State)
}

// Key states.
const (
	stateEnabled         = "Enabled"
	stateDisabled        = "Disabled"
	statePendingDeletion = "PendingDeletion"
)

// openVersion returns a key version's opened material, from the cache or
// the store.
func (k *Keys) openVersion(ctx context.Context, key *store.KMSKey, version int) (*material, error) {
	if m := k.material.get(key.KeyID, version); m != nil {
		return m, nil
	}
	row, err := k.cfg.Store.GetKMSKeyMaterial(ctx, key.KeyID, version)
	if err != nil {
		return nil, fmt.Errorf("load key %s material %d: %w", key.KeyID, version, err)
	}
	raw, err := k.cfg.Keyring.Open(row.Sealed, materialAAD(key.KeyID, version))
	if err != nil {
		return nil, fmt.Errorf("open key %s material %d: %w", key.KeyID, version, err)
	}
	m, err := openMaterial(key.KeySpec, raw)
	if err != nil {
		return nil, fmt.Errorf("key %s material %d: %w", key.KeyID, version, err)
	}
	k.material.put(key.KeyID, version, m)
	return m, nil
}

// sealMaterial seals raw material for a key version and clears raw.
func (k *Keys) sealMaterial(keyID string, version int, raw []byte) ([]byte, error) {
	defer clear(raw)
	sealed, err := k.cfg.Keyring.Seal(raw, materialAAD(keyID, version))
	if err != nil {
		return nil, fmt.Errorf("seal key %s material %d: %w", keyID, version, err)
	}
	return sealed, nil
}

// internal wraps an unexpected error; *awsproto.Error values pass.
func internal(err error) error {
	if err == nil {
		return nil
	}
	var e *awsproto.Error
	if errors.As(err, &e) {
		return err
	}
	return awsproto.InternalFailure(err)
}
