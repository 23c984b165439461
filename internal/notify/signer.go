package notify

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

// Keyring seals and opens key material at rest.
type Keyring interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// Meta is the part of the store the signer keeps its key in.
type Meta interface {
	GetMeta(ctx context.Context, key string) ([]byte, error)
	PutMetaIfAbsent(ctx context.Context, key string, value []byte) (bool, error)
}

const (
	signingKeyMeta = "sns/signing-key"
	signingKeyAAD  = "bulwark sns message signing key"
	signingKeyBits = 2048
	certValidity   = 10 * 365 * 24 * time.Hour
)

// storedKey is the meta row: the PKCS#8 private key sealed by the keyring
// and the self-signed certificate receivers fetch.
type storedKey struct {
	Sealed []byte `json:"sealed"`
	Cert   []byte `json:"cert"`
}

// Signer signs SNS messages with the deployment's RSA key. The key is made
// on first use, sealed by the keyring and shared through the store, so
// every server signs with the same key and serves the same certificate.
type Signer struct {
	meta Meta
	keys Keyring
	now  func() time.Time

	mu   sync.Mutex
	key  *rsa.PrivateKey
	cert []byte // DER
	id   string
	// unsubKey authenticates UnsubscribeURL tokens; derived from the
	// signing key so it needs no storage of its own.
	unsubKey []byte
}

// NewSigner returns a signer over the store's meta table.
func NewSigner(meta Meta, keys Keyring, now func() time.Time) *Signer {
	if now == nil {
		now = time.Now
	}
	return &Signer{meta: meta, keys: keys, now: now}
}

// Forget drops the cached key (after a dev-mode reset emptied the store).
func (s *Signer) Forget() {
	s.mu.Lock()
	s.key, s.cert, s.id, s.unsubKey = nil, nil, "", nil
	s.mu.Unlock()
}

// load returns the key, creating and storing it if the store has none.
func (s *Signer) load(ctx context.Context) (*rsa.PrivateKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key != nil {
		return s.key, nil
	}
	raw, err := s.meta.GetMeta(ctx, signingKeyMeta)
	if errors.Is(err, store.ErrNotFound) {
		fresh, ferr := s.create()
		if ferr != nil {
			return nil, ferr
		}
		if _, err = s.meta.PutMetaIfAbsent(ctx, signingKeyMeta, fresh); err != nil {
			return nil, fmt.Errorf("store SNS signing key: %w", err)
		}
		// Another server may have won the race: use whatever is stored.
		raw, err = s.meta.GetMeta(ctx, signingKeyMeta)
	}
	if err != nil {
		return nil, fmt.Errorf("load SNS signing key: %w", err)
	}
	var sk storedKey
	if err := json.Unmarshal(raw, &sk); err != nil {
		return nil, fmt.Errorf("decode SNS signing key: %w", err)
	}
	der, err := s.keys.Open(sk.Sealed, []byte(signingKeyAAD))
	if err != nil {
		return nil, fmt.Errorf("open SNS signing key: %w", err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse SNS signing key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("SNS signing key is not RSA")
	}
	cert, err := x509.ParseCertificate(sk.Cert)
	if err != nil {
		return nil, fmt.Errorf("parse SNS signing certificate: %w", err)
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&rk.PublicKey) {
		return nil, errors.New("SNS signing certificate does not match the key")
	}
	sum := sha256.Sum256(sk.Cert)
	mac := sha256.Sum256(append([]byte("bulwark sns unsubscribe\x00"), der...))
	s.key, s.cert, s.id, s.unsubKey = rk, sk.Cert, hex.EncodeToString(sum[:16]), mac[:]
	return rk, nil
}

func (s *Signer) create() ([]byte, error) {
	k, err := rsa.GenerateKey(rand.Reader, signingKeyBits)
	if err != nil {
		return nil, fmt.Errorf("generate SNS signing key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("certificate serial: %w", err)
	}
	now := s.now().UTC()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "sns.amazonaws.com", Organization: []string{"Bulwark"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, fmt.Errorf("self-sign SNS certificate: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("encode SNS signing key: %w", err)
	}
	sealed, err := s.keys.Seal(der, []byte(signingKeyAAD))
	if err != nil {
		return nil, fmt.Errorf("seal SNS signing key: %w", err)
	}
	return json.Marshal(storedKey{Sealed: sealed, Cert: cert})
}

// CertID returns the id in the certificate's file name.
func (s *Signer) CertID(ctx context.Context) (string, error) {
	if _, err := s.load(ctx); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id, nil
}

// CertPEM returns the certificate with an id, or false if id is not the
// current one.
func (s *Signer) CertPEM(ctx context.Context, id string) ([]byte, bool, error) {
	if _, err := s.load(ctx); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id != s.id {
		return nil, false, nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.cert}), true, nil
}

// Sign sets m's SignatureVersion and Signature.
func (s *Signer) Sign(ctx context.Context, m *Message, version string) error {
	h, ok := signatureHash(version)
	if !ok {
		return fmt.Errorf("unsupported SignatureVersion %q", version)
	}
	k, err := s.load(ctx)
	if err != nil {
		return err
	}
	msg, err := StringToSign(m)
	if err != nil {
		return err
	}
	d := h.New()
	d.Write(msg)
	sig, err := rsa.SignPKCS1v15(nil, k, h, d.Sum(nil))
	if err != nil {
		return fmt.Errorf("sign SNS message: %w", err)
	}
	m.SignatureVersion, m.Signature = version, base64.StdEncoding.EncodeToString(sig)
	return nil
}

// unsubscribeToken is the capability an UnsubscribeURL carries: a MAC of
// the subscription ARN, so only who received a message can unsubscribe
// without credentials (SNS lets anyone holding the URL do so).
func (s *Signer) unsubscribeToken(ctx context.Context, subARN string) (string, error) {
	if _, err := s.load(ctx); err != nil {
		return "", err
	}
	s.mu.Lock()
	key := s.unsubKey
	s.mu.Unlock()
	return hex.EncodeToString(hmacSHA256(key, []byte(subARN))), nil
}

var _ crypto.Signer = (*rsa.PrivateKey)(nil)
