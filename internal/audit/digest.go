package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bulwark-security/bulwark/internal/keyring"
	"github.com/bulwark-security/bulwark/internal/store"
)

// Digests. Like CloudTrail's digest files, each digest is signed and names
// the hash of the digest before it, so the digests form one chain across
// every server sharing the store (the store serialises digest writers).
// A digest covers the records its chain gained since its previous digest
// by naming the last one's seq and hash; the hash chain covers the rest.
// Retention digests record, before records are deleted, the seq and the
// previous hash of a chain's first kept record (the anchor), so the chain
// stays verifiable from there.

// Digest kinds.
const (
	DigestPeriodic  = "periodic"
	DigestShutdown  = "shutdown"
	DigestRetention = "retention"
)

// DigestBody is the signed content of a digest.
type DigestBody struct {
	Version            int    `json:"digestVersion"`
	Seq                int64  `json:"digestSeq"`
	PreviousDigestHash string `json:"previousDigestHash"` // hex SHA-256 of the previous body and signature; "" for the first
	Time               string `json:"digestTime"`
	Kind               string `json:"kind"`
	ChainID            string `json:"chainId"`
	FirstSeq           int64  `json:"firstSeq,omitempty"`
	LastSeq            int64  `json:"lastSeq,omitempty"`
	LastHash           string `json:"lastHash,omitempty"`
	AnchorSeq          int64  `json:"anchorSeq,omitempty"`
	AnchorPrevHash     string `json:"anchorPrevHash,omitempty"`
	PublicKeySHA256    string `json:"publicKeySha256"`
}

// digestDomain separates digest signatures from any other use of the key.
const digestDomain = "bulwark-audit-digest-v1\x00"

// DigestLink is the hash a digest's successor names.
func DigestLink(body, sig []byte) string {
	h := sha256.New()
	h.Write(body)
	h.Write(sig)
	return hex.EncodeToString(h.Sum(nil))
}

// Signer signs digests with the deployment's Ed25519 digest key.
type Signer struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
}

// metaSigningKey is the meta row holding the sealed digest key.
const metaSigningKey = "audit/digest-signing-key"

var signingKeyAAD = []byte("bulwark audit digest signing key v1")

// LoadSigner returns the digest signer, creating and storing the key
// (sealed by the keyring) on first use; when several servers race, one
// key wins and all use it.
func LoadSigner(ctx context.Context, st store.Store, keys *keyring.Keyring) (*Signer, error) {
	sealed, err := st.GetMeta(ctx, metaSigningKey)
	if errors.Is(err, store.ErrNotFound) {
		_, priv, gerr := ed25519.GenerateKey(rand.Reader)
		if gerr != nil {
			return nil, fmt.Errorf("generate digest key: %w", gerr)
		}
		s, serr := keys.Seal(priv.Seed(), signingKeyAAD)
		if serr != nil {
			return nil, fmt.Errorf("seal digest key: %w", serr)
		}
		if _, err := st.PutMetaIfAbsent(ctx, metaSigningKey, s); err != nil {
			return nil, fmt.Errorf("store digest key: %w", err)
		}
		sealed, err = st.GetMeta(ctx, metaSigningKey)
	}
	if err != nil {
		return nil, fmt.Errorf("read digest key: %w", err)
	}
	seed, err := keys.Open(sealed, signingKeyAAD)
	if err != nil {
		return nil, fmt.Errorf("open digest key: %w", err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("digest key has %d bytes", len(seed))
	}
	priv := ed25519.NewKeyFromSeed(seed)
	clear(seed)
	return &Signer{priv: priv, pub: priv.Public().(ed25519.PublicKey)}, nil
}

// LoadPublicKey returns the digest verification key without creating a
// key: the verifier's trust comes from the keyring, which only the
// deployment's root key opens, not from anything an attacker with write
// access to the store could replace.
func LoadPublicKey(ctx context.Context, st store.Store, keys *keyring.Keyring) (ed25519.PublicKey, error) {
	sealed, err := st.GetMeta(ctx, metaSigningKey)
	if err != nil {
		return nil, fmt.Errorf("read digest key: %w", err)
	}
	seed, err := keys.Open(sealed, signingKeyAAD)
	if err != nil {
		return nil, fmt.Errorf("open digest key: %w", err)
	}
	defer clear(seed)
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("digest key has %d bytes", len(seed))
	}
	return ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey), nil
}

// NewSigner wraps a private key (tests).
func NewSigner(priv ed25519.PrivateKey) *Signer {
	return &Signer{priv: priv, pub: priv.Public().(ed25519.PublicKey)}
}

// PublicKey returns the verification key.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.pub }

// PublicKeyPEM encodes a verification key as a PEM "PUBLIC KEY" (PKIX).
func PublicKeyPEM(pub ed25519.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// ParsePublicKeyPEM reads a key written by PublicKeyPEM.
func ParsePublicKeyPEM(b []byte) (ed25519.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, errors.New("no PEM PUBLIC KEY block")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key is %T, not Ed25519", k)
	}
	return pub, nil
}

func keyFingerprint(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:])
}

// appendDigest writes one digest; fill sets the chain-specific fields.
func appendDigest(ctx context.Context, st store.Audit, s *Signer, now time.Time, kind, chainID string, fill func(*DigestBody)) error {
	return st.AppendAuditDigest(ctx, func(prevSeq int64, prevBody, prevSig []byte) (store.AuditDigest, error) {
		b := DigestBody{Version: 1, Seq: prevSeq + 1, Time: now.UTC().Format(time.RFC3339Nano), Kind: kind,
			ChainID: chainID, PublicKeySHA256: keyFingerprint(s.pub)}
		if prevSeq > 0 {
			b.PreviousDigestHash = DigestLink(prevBody, prevSig)
		}
		fill(&b)
		body, err := json.Marshal(b)
		if err != nil {
			return store.AuditDigest{}, err
		}
		sig := ed25519.Sign(s.priv, append([]byte(digestDomain), body...))
		return store.AuditDigest{Seq: b.Seq, ChainID: chainID, CreatedAt: now.UTC().Truncate(time.Microsecond),
			Body: body, Signature: sig}, nil
	})
}

// Digester signs a trail's chain periodically. Its methods may be called
// from several goroutines.
type Digester struct {
	Trail  *Trail
	Store  store.Audit
	Signer *Signer
	Now    func() time.Time

	mu sync.Mutex

	// lastChain/lastSeq are the chain and seq the last digest covered.
	lastChain string
	lastSeq   int64
}

// Digest writes a digest of the records the trail committed since the
// last digest; it writes nothing if there are none.
func (d *Digester) Digest(ctx context.Context, kind string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	chainID, seq, hash := d.Trail.Head()
	if chainID != d.lastChain {
		d.lastChain, d.lastSeq = chainID, 0
	}
	if seq == d.lastSeq {
		return nil
	}
	first := d.lastSeq + 1
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	if err := appendDigest(ctx, d.Store, d.Signer, now(), kind, chainID, func(b *DigestBody) {
		b.FirstSeq, b.LastSeq, b.LastHash = first, seq, hex.EncodeToString(hash)
	}); err != nil {
		return fmt.Errorf("write audit digest: %w", err)
	}
	d.lastSeq = seq
	return nil
}

// Undigested is how many records the trail committed since the last
// digest.
func (d *Digester) Undigested() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	chainID, seq, _ := d.Trail.Head()
	if chainID != d.lastChain {
		return seq
	}
	return seq - d.lastSeq
}

// SetSigner replaces the signing key (after a dev-mode reset).
func (d *Digester) SetSigner(s *Signer) {
	d.mu.Lock()
	d.Signer = s
	d.mu.Unlock()
}

// CurrentSigner returns the signing key in use.
func (d *Digester) CurrentSigner() *Signer {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.Signer
}

// Retain deletes records older than cutoff, keeping every chain
// verifiable: for each chain it first writes a signed retention digest
// naming the first kept record's seq and previous hash (for a chain with
// nothing left, the seq after its last record and that record's hash),
// then deletes the records before it. It returns how many it deleted.
func Retain(ctx context.Context, st store.Audit, s *Signer, now time.Time, cutoff time.Time) (int64, error) {
	chains, err := st.AuditChains(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, c := range chains {
		var anchorSeq int64
		var anchorPrev []byte
		first, err := st.FirstAuditRecordSince(ctx, c, cutoff)
		switch {
		case err == nil:
			anchorSeq, anchorPrev = first.Seq, first.PrevHash
		case errors.Is(err, store.ErrNotFound):
			last, lerr := st.LastAuditRecord(ctx, c)
			if lerr != nil {
				return total, fmt.Errorf("retention of chain %s: %w", c, lerr)
			}
			anchorSeq, anchorPrev = last.Seq+1, last.Hash
		default:
			return total, fmt.Errorf("retention of chain %s: %w", c, err)
		}
		oldest, err := st.FirstAuditRecordSince(ctx, c, time.Unix(0, 0))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return total, fmt.Errorf("retention of chain %s: %w", c, err)
		}
		if anchorSeq <= 1 || (err == nil && oldest.Seq >= anchorSeq) {
			continue // nothing to delete
		}
		if err := appendDigest(ctx, st, s, now, DigestRetention, c, func(b *DigestBody) {
			b.AnchorSeq, b.AnchorPrevHash = anchorSeq, hex.EncodeToString(anchorPrev)
		}); err != nil {
			return total, fmt.Errorf("retention digest of chain %s: %w", c, err)
		}
		n, err := st.DeleteAuditRecords(ctx, c, anchorSeq)
		if err != nil {
			return total, fmt.Errorf("retention of chain %s: %w", c, err)
		}
		total += n
	}
	return total, nil
}

// verifyDigestSig checks a digest's signature.
func verifyDigestSig(pub ed25519.PublicKey, body, sig []byte) bool {
	return len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, append([]byte(digestDomain), body...), sig)
}
