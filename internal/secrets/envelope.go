package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/store"
)

// Envelope format: the KMS ciphertext blob of a fresh 256-bit data key is
// stored beside nonce(12) || AES-256-GCM(value), whose additional data
// binds the value to its secret and version, so a row copied to another
// secret or version does not open. The KMS encryption context is AWS's:
// {"SecretARN": arn, "SecretVersionId": id}.

const aadPrefix = "bulwark/secretsmanager/v1\x00"

func encryptionContext(arn, versionID string) map[string]string {
	return map[string]string{"SecretARN": arn, "SecretVersionId": versionID}
}

func additionalData(arn, versionID string) []byte {
	return []byte(aadPrefix + arn + "\x00" + versionID)
}

// value is a secret value in plaintext, in memory only.
type value struct {
	data   []byte
	binary bool
}

// wipe clears the plaintext once it has been used.
func (v *value) wipe() { clear(v.data) }

// seal encrypts val under the key keyID for version versionID of the
// secret arn, on behalf of c.
func (s *Service) seal(ctx context.Context, c *api.Call, arn, versionID, keyID string, val value) (store.SecretVersion, error) {
	dk, blob, keyARN, err := s.cfg.Keys.GenerateDataKey(ctx, c, keyID, encryptionContext(arn, versionID))
	if err != nil {
		return store.SecretVersion{}, kmsErr(fmt.Errorf("generate data key: %w", err), true)
	}
	defer clear(dk)
	gcm, err := newGCM(dk)
	if err != nil {
		return store.SecretVersion{}, kmsErr(err, true)
	}
	out := make([]byte, gcm.NonceSize(), gcm.NonceSize()+len(val.data)+gcm.Overhead())
	_, _ = rand.Read(out) // crypto/rand.Read never fails
	out = gcm.Seal(out, out, val.data, additionalData(arn, versionID))
	return store.SecretVersion{SecretARN: arn, VersionID: versionID, KMSKeyARN: keyARN,
		EncryptedKey: blob, Ciphertext: out, Binary: val.binary}, nil
}

// open decrypts a version on behalf of c (KMS checks kms:Decrypt).
func (s *Service) open(ctx context.Context, c *api.Call, v *store.SecretVersion) (value, error) {
	if isPlaceholder(v) {
		return value{}, errVersionNotFound("VersionId", v.VersionID)
	}
	dk, _, err := s.cfg.Keys.Decrypt(ctx, c, v.EncryptedKey, encryptionContext(v.SecretARN, v.VersionID))
	if err != nil {
		return value{}, kmsErr(fmt.Errorf("decrypt data key of %s version %s: %w", v.SecretARN, v.VersionID, err), false)
	}
	defer clear(dk)
	gcm, err := newGCM(dk)
	if err != nil {
		return value{}, errDecryption(err)
	}
	ns := gcm.NonceSize()
	if len(v.Ciphertext) < ns+gcm.Overhead() {
		return value{}, errDecryption(errors.New("ciphertext too short"))
	}
	pt, err := gcm.Open(nil, v.Ciphertext[:ns], v.Ciphertext[ns:], additionalData(v.SecretARN, v.VersionID))
	if err != nil {
		return value{}, errDecryption(fmt.Errorf("open %s version %s: %w", v.SecretARN, v.VersionID, err))
	}
	return value{data: pt, binary: v.Binary}, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("data key has %d bytes, want 32", len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("data key: %w", err)
	}
	return cipher.NewGCM(b)
}

// isPlaceholder reports whether v is a version without a value yet: the
// AWSPENDING version RotateSecret creates before the rotator's createSecret
// step puts the value (AWS's rotation functions rely on finding the
// version's id among the secret's versions). Reading it answers
// ResourceNotFoundException, as AWS does.
func isPlaceholder(v *store.SecretVersion) bool { return len(v.Ciphertext) == 0 }
