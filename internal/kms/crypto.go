package kms

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"unicode/utf8"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/store"
)

// Encryption algorithms.
const (
	algSymmetric  = "SYMMETRIC_DEFAULT"
	algOAEPSHA1   = "RSAES_OAEP_SHA_1"
	algOAEPSHA256 = "RSAES_OAEP_SHA_256"
)

// encryptionContext is the EncryptionContext parameter.
type encryptionContext map[string]string

func (ec encryptionContext) check() error {
	n := 0
	for k, v := range ec {
		if k == "" || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return validation("Encryption context keys must be non-empty UTF-8 strings.")
		}
		n += len(k) + len(v)
	}
	if n > maxContextSize {
		return validation("The encryption context is larger than %d bytes.", maxContextSize)
	}
	return nil
}

// symmetricEncrypt seals plaintext under the key's current material.
func (k *Keys) symmetricEncrypt(ctx context.Context, key *store.KMSKey, plaintext []byte, ec map[string]string) ([]byte, error) {
	m, err := k.openVersion(ctx, key, key.CurrentVersion)
	if err != nil {
		return nil, internal(err)
	}
	nonce := make([]byte, 12)
	rand.Read(nonce)
	out := appendBlobHeader(make([]byte, 0, blobOverhead+len(plaintext)), uuidBytes(key.KeyID), uint32(key.CurrentVersion), nonce)
	return m.aead.Seal(out, nonce, plaintext, contextAAD(out, ec)), nil
}

// symmetricDecrypt opens a blob made by symmetricEncrypt under key. Every
// failure that depends on the blob is InvalidCiphertextException.
func (k *Keys) symmetricDecrypt(ctx context.Context, key *store.KMSKey, blob []byte, ec map[string]string) ([]byte, error) {
	h, err := parseBlob(blob)
	if err != nil || uuidString(h.keyID) != key.KeyID || h.version > 1<<30 {
		return nil, invalidCiphertext()
	}
	// A version beyond the key row's may come from a rotation another
	// server made after this one cached the row: the store decides.
	m, err := k.openVersion(ctx, key, int(h.version))
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalidCiphertext()
	}
	if err != nil {
		return nil, internal(err)
	}
	pt, err := m.aead.Open(nil, h.nonce, h.sealed, contextAAD(h.aadHead, ec))
	if err != nil {
		return nil, invalidCiphertext()
	}
	return pt, nil
}

func oaepHash(alg string) (hash.Hash, error) {
	switch alg {
	case algOAEPSHA1:
		return sha1.New(), nil
	case algOAEPSHA256:
		return sha256.New(), nil
	}
	return nil, validation("1 validation error detected: Value '%s' at 'encryptionAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256]", alg)
}

// checkEncryptionAlgorithm checks alg against the key and defaults it.
func checkEncryptionAlgorithm(key *store.KMSKey, alg string) (string, error) {
	if key.KeyUsage != usageEncrypt {
		return "", kmsErr(codeInvalidKeyUsage, "%s key usage is %s which is not valid for this operation.", key.ARN, key.KeyUsage)
	}
	if alg == "" {
		alg = algSymmetric
	}
	for _, a := range encryptionAlgorithms(key) {
		if a == alg {
			return alg, nil
		}
	}
	if _, err := oaepHash(alg); err != nil && alg != algSymmetric {
		return "", err
	}
	return "", kmsErr(codeInvalidKeyUsage, "Algorithm %s is incompatible with key spec %s.", alg, key.KeySpec)
}

// encrypt encrypts under any ENCRYPT_DECRYPT key.
func (k *Keys) encrypt(ctx context.Context, key *store.KMSKey, alg string, plaintext []byte, ec map[string]string) ([]byte, string, error) {
	if err := usable(key); err != nil {
		return nil, "", err
	}
	alg, err := checkEncryptionAlgorithm(key, alg)
	if err != nil {
		return nil, "", err
	}
	if alg == algSymmetric {
		blob, err := k.symmetricEncrypt(ctx, key, plaintext, ec)
		return blob, alg, err
	}
	if len(ec) > 0 {
		return nil, "", validation("EncryptionContext is not supported with asymmetric KMS keys.")
	}
	m, err := k.openVersion(ctx, key, 1)
	if err != nil {
		return nil, "", internal(err)
	}
	h, _ := oaepHash(alg)
	blob, err := rsa.EncryptOAEP(h, rand.Reader, &m.rsa.PublicKey, plaintext, nil)
	if err != nil {
		// The message is too long for the key and padding.
		return nil, "", validation("Plaintext is too long for %s with %s.", key.KeySpec, alg)
	}
	return blob, alg, nil
}

// decrypt decrypts under any ENCRYPT_DECRYPT key.
func (k *Keys) decrypt(ctx context.Context, key *store.KMSKey, alg string, blob []byte, ec map[string]string) ([]byte, string, error) {
	if err := usable(key); err != nil {
		return nil, "", err
	}
	alg, err := checkEncryptionAlgorithm(key, alg)
	if err != nil {
		return nil, "", err
	}
	if alg == algSymmetric {
		pt, err := k.symmetricDecrypt(ctx, key, blob, ec)
		return pt, alg, err
	}
	if len(ec) > 0 {
		return nil, "", validation("EncryptionContext is not supported with asymmetric KMS keys.")
	}
	m, err := k.openVersion(ctx, key, 1)
	if err != nil {
		return nil, "", internal(err)
	}
	h, _ := oaepHash(alg)
	pt, err := rsa.DecryptOAEP(h, nil, m.rsa, blob, nil)
	if err != nil {
		return nil, "", invalidCiphertext()
	}
	return pt, alg, nil
}

// --- Encrypt

type encryptInput struct {
	keyInput
	Plaintext           []byte            `json:"Plaintext"`
	EncryptionContext   encryptionContext `json:"EncryptionContext"`
	GrantTokens         grantTokens       `json:"GrantTokens"`
	EncryptionAlgorithm string            `json:"EncryptionAlgorithm"`
	DryRun              bool              `json:"DryRun"`
}

// Validate implements api.Validator.
func (in *encryptInput) Validate() error {
	if len(in.Plaintext) == 0 || len(in.Plaintext) > maxPlaintext {
		return validation("1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and %d", maxPlaintext)
	}
	if err := in.EncryptionContext.check(); err != nil {
		return err
	}
	return in.GrantTokens.check()
}

// RequestContext implements api.ContextProvider.
func (in *encryptInput) RequestContext(c *api.Call) map[string][]string {
	return encryptionContextKeys(in.t.context(c), in.EncryptionContext)
}

type encryptOutput struct {
	CiphertextBlob      []byte `json:"CiphertextBlob"`
	KeyId               string `json:"KeyId"`
	EncryptionAlgorithm string `json:"EncryptionAlgorithm"`
}

func (k *Keys) encryptAction(ctx context.Context, _ *api.Call, in *encryptInput) (any, error) {
	defer clear(in.Plaintext)
	key := &in.t.key
	blob, alg, err := k.encrypt(ctx, key, in.EncryptionAlgorithm, in.Plaintext, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, dryRun()
	}
	return encryptOutput{CiphertextBlob: blob, KeyId: key.ARN, EncryptionAlgorithm: alg}, nil
}

func dryRun() error {
	e := kmsErr("DryRunOperationException", "The request would have succeeded, but the DryRun option is set.")
	e.Status = http.StatusPreconditionFailed // 412, as AWS answers a dry run
	return e
}

// --- Decrypt

type decryptInput struct {
	keyInput
	CiphertextBlob      []byte            `json:"CiphertextBlob"`
	EncryptionContext   encryptionContext `json:"EncryptionContext"`
	GrantTokens         grantTokens       `json:"GrantTokens"`
	EncryptionAlgorithm string            `json:"EncryptionAlgorithm"`
	DryRun              bool              `json:"DryRun"`
	Recipient           *struct{}         `json:"Recipient"`
	blobKey             string            // the key id the blob names
}

// Validate implements api.Validator. Without a KeyId the blob must name
// its key, so a malformed one is refused before any lookup.
func (in *decryptInput) Validate() error {
	if len(in.CiphertextBlob) == 0 || len(in.CiphertextBlob) > maxCiphertext {
		return validation("1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: Member must have length between 1 and %d", maxCiphertext)
	}
	if in.Recipient != nil {
		return kmsErr(codeUnsupported, "Recipient (Nitro Enclaves attestation) is not supported by this endpoint.")
	}
	if err := in.EncryptionContext.check(); err != nil {
		return err
	}
	if err := in.GrantTokens.check(); err != nil {
		return err
	}
	if in.KeyId == "" {
		h, err := parseBlob(in.CiphertextBlob)
		if err != nil {
			return invalidCiphertext()
		}
		in.blobKey = uuidString(h.keyID)
	}
	return nil
}

func (in *decryptInput) keyRef() string {
	if in.KeyId != "" {
		return in.KeyId
	}
	return in.blobKey
}

// RequestContext implements api.ContextProvider.
func (in *decryptInput) RequestContext(c *api.Call) map[string][]string {
	return encryptionContextKeys(in.t.context(c), in.EncryptionContext)
}

type decryptOutput struct {
	KeyId               string `json:"KeyId"`
	Plaintext           []byte `json:"Plaintext"`
	EncryptionAlgorithm string `json:"EncryptionAlgorithm"`
}

func (k *Keys) decryptAction(ctx context.Context, _ *api.Call, in *decryptInput) (any, error) {
	key := &in.t.key
	if in.KeyId != "" && key.KeySpec == specSymmetric {
		if h, err := parseBlob(in.CiphertextBlob); err == nil && uuidString(h.keyID) != key.KeyID {
			return nil, kmsErr(codeIncorrectKey, "The key ID in the request does not identify a CMK that can perform this operation.")
		}
	}
	pt, alg, err := k.decrypt(ctx, key, in.EncryptionAlgorithm, in.CiphertextBlob, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		clear(pt)
		return nil, dryRun()
	}
	return decryptOutput{KeyId: key.ARN, Plaintext: pt, EncryptionAlgorithm: alg}, nil
}

// --- ReEncrypt

type reEncryptInput struct {
	decryptInput
	SourceKeyId                    string            `json:"SourceKeyId"`
	SourceEncryptionContext        encryptionContext `json:"SourceEncryptionContext"`
	SourceEncryptionAlgorithm      string            `json:"SourceEncryptionAlgorithm"`
	DestinationKeyId               string            `json:"DestinationKeyId"`
	DestinationEncryptionContext   encryptionContext `json:"DestinationEncryptionContext"`
	DestinationEncryptionAlgorithm string            `json:"DestinationEncryptionAlgorithm"`
}

// Validate implements api.Validator.
func (in *reEncryptInput) Validate() error {
	if in.DestinationKeyId == "" {
		return validation("1 validation error detected: Value null at 'destinationKeyId' failed to satisfy constraint: Member must not be null")
	}
	if err := in.DestinationEncryptionContext.check(); err != nil {
		return err
	}
	in.KeyId, in.EncryptionContext, in.EncryptionAlgorithm = in.SourceKeyId, in.SourceEncryptionContext, in.SourceEncryptionAlgorithm
	return in.decryptInput.Validate()
}

type reEncryptOutput struct {
	CiphertextBlob                 []byte `json:"CiphertextBlob"`
	SourceKeyId                    string `json:"SourceKeyId"`
	KeyId                          string `json:"KeyId"`
	SourceEncryptionAlgorithm      string `json:"SourceEncryptionAlgorithm"`
	DestinationEncryptionAlgorithm string `json:"DestinationEncryptionAlgorithm"`
}

func (k *Keys) reEncrypt(ctx context.Context, c *api.Call, in *reEncryptInput) (any, error) {
	src := &in.t.key
	if in.KeyId != "" && src.KeySpec == specSymmetric {
		if h, err := parseBlob(in.CiphertextBlob); err == nil && uuidString(h.keyID) != src.KeyID {
			return nil, kmsErr(codeIncorrectKey, "The key ID in the request does not identify a CMK that can perform this operation.")
		}
	}
	// The destination key is authorised here (kms:ReEncryptTo), with its
	// own key policy; the server authorised kms:ReEncryptFrom on the source.
	var dst target
	k.bindKey(ctx, c, in.DestinationKeyId, &dst)
	if dst.err != nil {
		return nil, dst.err
	}
	extra := encryptionContextKeys(nil, in.DestinationEncryptionContext)
	if dst.alias != "" {
		extra = mergeContext(extra, map[string][]string{"kms:RequestAlias": {dst.alias}})
	}
	if err := k.authorize(ctx, c, "ReEncryptTo", &dst.key, dst.entry, extra); err != nil {
		return nil, err
	}
	pt, srcAlg, err := k.decrypt(ctx, src, in.SourceEncryptionAlgorithm, in.CiphertextBlob, in.SourceEncryptionContext)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	blob, dstAlg, err := k.encrypt(ctx, &dst.key, in.DestinationEncryptionAlgorithm, pt, in.DestinationEncryptionContext)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, dryRun()
	}
	return reEncryptOutput{CiphertextBlob: blob, SourceKeyId: src.ARN, KeyId: dst.key.ARN,
		SourceEncryptionAlgorithm: srcAlg, DestinationEncryptionAlgorithm: dstAlg}, nil
}

// --- GenerateDataKey

type generateDataKeyInput struct {
	keyInput
	EncryptionContext encryptionContext `json:"EncryptionContext"`
	NumberOfBytes     *int              `json:"NumberOfBytes"`
	KeySpec           string            `json:"KeySpec"`
	GrantTokens       grantTokens       `json:"GrantTokens"`
	DryRun            bool              `json:"DryRun"`
	Recipient         *struct{}         `json:"Recipient"`
}

// Validate implements api.Validator.
func (in *generateDataKeyInput) Validate() error {
	switch {
	case in.NumberOfBytes != nil && in.KeySpec != "":
		return validation("Please specify either number of bytes or key spec.")
	case in.NumberOfBytes == nil && in.KeySpec == "":
		return validation("Please specify either number of bytes or key spec.")
	case in.NumberOfBytes != nil && (*in.NumberOfBytes < 1 || *in.NumberOfBytes > 1024):
		return validation("1 validation error detected: Value '%d' at 'numberOfBytes' failed to satisfy constraint: Member must have value between 1 and 1024", *in.NumberOfBytes)
	case in.KeySpec != "" && in.KeySpec != "AES_256" && in.KeySpec != "AES_128":
		return validation("1 validation error detected: Value '%s' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]", in.KeySpec)
	case in.Recipient != nil:
		return kmsErr(codeUnsupported, "Recipient (Nitro Enclaves attestation) is not supported by this endpoint.")
	}
	if err := in.EncryptionContext.check(); err != nil {
		return err
	}
	return in.GrantTokens.check()
}

func (in *generateDataKeyInput) size() int {
	switch {
	case in.NumberOfBytes != nil:
		return *in.NumberOfBytes
	case in.KeySpec == "AES_128":
		return 16
	}
	return 32
}

// RequestContext implements api.ContextProvider.
func (in *generateDataKeyInput) RequestContext(c *api.Call) map[string][]string {
	return encryptionContextKeys(in.t.context(c), in.EncryptionContext)
}

type generateDataKeyOutput struct {
	CiphertextBlob []byte `json:"CiphertextBlob"`
	Plaintext      []byte `json:"Plaintext,omitempty"`
	KeyId          string `json:"KeyId"`
}

// dataKey makes a data key of n bytes under a symmetric key.
func (k *Keys) dataKey(ctx context.Context, key *store.KMSKey, n int, ec map[string]string) (pt, blob []byte, err error) {
	if err := usable(key); err != nil {
		return nil, nil, err
	}
	if key.KeySpec != specSymmetric || key.KeyUsage != usageEncrypt {
		return nil, nil, kmsErr(codeInvalidKeyUsage, "%s key usage is %s and spec %s which is not valid for this operation.", key.ARN, key.KeyUsage, key.KeySpec)
	}
	pt = make([]byte, n)
	rand.Read(pt)
	blob, err = k.symmetricEncrypt(ctx, key, pt, ec)
	if err != nil {
		clear(pt)
		return nil, nil, err
	}
	return pt, blob, nil
}

func (k *Keys) generateDataKey(ctx context.Context, _ *api.Call, in *generateDataKeyInput) (any, error) {
	pt, blob, err := k.dataKey(ctx, &in.t.key, in.size(), in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, dryRun()
	}
	return generateDataKeyOutput{CiphertextBlob: blob, Plaintext: pt, KeyId: in.t.key.ARN}, nil
}

func (k *Keys) generateDataKeyWithoutPlaintext(ctx context.Context, _ *api.Call, in *generateDataKeyInput) (any, error) {
	pt, blob, err := k.dataKey(ctx, &in.t.key, in.size(), in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	clear(pt)
	if in.DryRun {
		return nil, dryRun()
	}
	return generateDataKeyOutput{CiphertextBlob: blob, KeyId: in.t.key.ARN}, nil
}

// --- GenerateDataKeyPair

type generateDataKeyPairInput struct {
	keyInput
	EncryptionContext encryptionContext `json:"EncryptionContext"`
	KeyPairSpec       string            `json:"KeyPairSpec"`
	GrantTokens       grantTokens       `json:"GrantTokens"`
	DryRun            bool              `json:"DryRun"`
	Recipient         *struct{}         `json:"Recipient"`
}

// Validate implements api.Validator.
func (in *generateDataKeyPairInput) Validate() error {
	switch in.KeyPairSpec {
	case specRSA2048, specRSA3072, specRSA4096, specP256, specP384:
	case "":
		return validation("1 validation error detected: Value null at 'keyPairSpec' failed to satisfy constraint: Member must not be null")
	default:
		return validation("1 validation error detected: Value '%s' at 'keyPairSpec' failed to satisfy constraint: Member must satisfy enum value set: [RSA_2048, RSA_3072, RSA_4096, ECC_NIST_P256, ECC_NIST_P384]", in.KeyPairSpec)
	}
	if in.Recipient != nil {
		return kmsErr(codeUnsupported, "Recipient (Nitro Enclaves attestation) is not supported by this endpoint.")
	}
	if err := in.EncryptionContext.check(); err != nil {
		return err
	}
	return in.GrantTokens.check()
}

// RequestContext implements api.ContextProvider.
func (in *generateDataKeyPairInput) RequestContext(c *api.Call) map[string][]string {
	m := encryptionContextKeys(in.t.context(c), in.EncryptionContext)
	m["kms:DataKeyPairSpec"] = []string{in.KeyPairSpec}
	return m
}

type generateDataKeyPairOutput struct {
	PrivateKeyCiphertextBlob []byte `json:"PrivateKeyCiphertextBlob"`
	PrivateKeyPlaintext      []byte `json:"PrivateKeyPlaintext,omitempty"`
	PublicKey                []byte `json:"PublicKey"`
	KeyId                    string `json:"KeyId"`
	KeyPairSpec              string `json:"KeyPairSpec"`
}

func (k *Keys) dataKeyPair(ctx context.Context, in *generateDataKeyPairInput, withPlaintext bool) (any, error) {
	key := &in.t.key
	if err := usable(key); err != nil {
		return nil, err
	}
	if key.KeySpec != specSymmetric || key.KeyUsage != usageEncrypt {
		return nil, kmsErr(codeInvalidKeyUsage, "%s key usage is %s and spec %s which is not valid for this operation.", key.ARN, key.KeyUsage, key.KeySpec)
	}
	priv, pub, err := newMaterial(in.KeyPairSpec)
	if err != nil {
		return nil, internal(err)
	}
	blob, err := k.symmetricEncrypt(ctx, key, priv, in.EncryptionContext)
	if err != nil {
		clear(priv)
		return nil, err
	}
	if in.DryRun {
		clear(priv)
		return nil, dryRun()
	}
	out := generateDataKeyPairOutput{PrivateKeyCiphertextBlob: blob, PublicKey: pub, KeyId: key.ARN, KeyPairSpec: in.KeyPairSpec}
	if withPlaintext {
		out.PrivateKeyPlaintext = priv
	} else {
		clear(priv)
	}
	return out, nil
}

func (k *Keys) generateDataKeyPair(ctx context.Context, _ *api.Call, in *generateDataKeyPairInput) (any, error) {
	return k.dataKeyPair(ctx, in, true)
}

func (k *Keys) generateDataKeyPairWithoutPlaintext(ctx context.Context, _ *api.Call, in *generateDataKeyPairInput) (any, error) {
	return k.dataKeyPair(ctx, in, false)
}

// --- GenerateRandom

type generateRandomInput struct {
	NumberOfBytes    *int   `json:"NumberOfBytes"`
	CustomKeyStoreId string `json:"CustomKeyStoreId"`
}

// Validate implements api.Validator.
func (in *generateRandomInput) Validate() error {
	if in.NumberOfBytes == nil {
		return validation("1 validation error detected: Value null at 'numberOfBytes' failed to satisfy constraint: Member must not be null")
	}
	if n := *in.NumberOfBytes; n < 1 || n > 1024 {
		return validation("1 validation error detected: Value '%d' at 'numberOfBytes' failed to satisfy constraint: Member must have value between 1 and 1024", n)
	}
	if in.CustomKeyStoreId != "" {
		return kmsErr(codeUnsupported, "Custom key stores are not supported by this endpoint.")
	}
	return nil
}

type generateRandomOutput struct {
	Plaintext []byte `json:"Plaintext"`
}

func (k *Keys) generateRandom(_ context.Context, _ *api.Call, in *generateRandomInput) (any, error) {
	b := make([]byte, *in.NumberOfBytes)
	rand.Read(b)
	return generateRandomOutput{Plaintext: b}, nil
}

// --- Sign, Verify

type signInput struct {
	keyInput
	Message          []byte      `json:"Message"`
	MessageType      string      `json:"MessageType"`
	GrantTokens      grantTokens `json:"GrantTokens"`
	SigningAlgorithm string      `json:"SigningAlgorithm"`
	DryRun           bool        `json:"DryRun"`
}

// Validate implements api.Validator.
func (in *signInput) Validate() error {
	if len(in.Message) == 0 || len(in.Message) > 4096 {
		return validation("1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length between 1 and 4096")
	}
	switch in.MessageType {
	case "", "RAW", "DIGEST":
	default:
		return validation("1 validation error detected: Value '%s' at 'messageType' failed to satisfy constraint: Member must satisfy enum value set: [RAW, DIGEST, EXTERNAL_MU]", in.MessageType)
	}
	if in.SigningAlgorithm == "" {
		return validation("1 validation error detected: Value null at 'signingAlgorithm' failed to satisfy constraint: Member must not be null")
	}
	if _, ok := signingAlgs[in.SigningAlgorithm]; !ok {
		return validation("1 validation error detected: Value '%s' at 'signingAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [RSASSA_PSS_SHA_256, RSASSA_PSS_SHA_384, RSASSA_PSS_SHA_512, RSASSA_PKCS1_V1_5_SHA_256, RSASSA_PKCS1_V1_5_SHA_384, RSASSA_PKCS1_V1_5_SHA_512, ECDSA_SHA_256, ECDSA_SHA_384]", in.SigningAlgorithm)
	}
	return in.GrantTokens.check()
}

// RequestContext implements api.ContextProvider.
func (in *signInput) RequestContext(c *api.Call) map[string][]string {
	m := in.t.context(c)
	m["kms:SigningAlgorithm"] = []string{in.SigningAlgorithm}
	m["kms:MessageType"] = []string{messageType(in.MessageType)}
	return m
}

func messageType(t string) string {
	if t == "" {
		return "RAW"
	}
	return t
}

type signingAlg struct {
	hash crypto.Hash
	pss  bool
	ec   bool
}

var signingAlgs = map[string]signingAlg{
	"RSASSA_PSS_SHA_256":        {crypto.SHA256, true, false},
	"RSASSA_PSS_SHA_384":        {crypto.SHA384, true, false},
	"RSASSA_PSS_SHA_512":        {crypto.SHA512, true, false},
	"RSASSA_PKCS1_V1_5_SHA_256": {crypto.SHA256, false, false},
	"RSASSA_PKCS1_V1_5_SHA_384": {crypto.SHA384, false, false},
	"RSASSA_PKCS1_V1_5_SHA_512": {crypto.SHA512, false, false},
	"ECDSA_SHA_256":             {crypto.SHA256, false, true},
	"ECDSA_SHA_384":             {crypto.SHA384, false, true},
}

// digest hashes a RAW message, or checks a DIGEST's length.
func digest(alg signingAlg, msgType string, msg []byte) ([]byte, error) {
	if msgType == "DIGEST" {
		if len(msg) != alg.hash.Size() {
			return nil, validation("Digest is invalid length for algorithm %s.", alg.hash)
		}
		return msg, nil
	}
	var h hash.Hash
	switch alg.hash {
	case crypto.SHA256:
		h = sha256.New()
	case crypto.SHA384:
		h = sha512.New384()
	default:
		h = sha512.New()
	}
	h.Write(msg)
	return h.Sum(nil), nil
}

// signingMaterial checks the key and algorithm and opens the key.
func (k *Keys) signingMaterial(ctx context.Context, key *store.KMSKey, algName string) (*material, signingAlg, error) {
	alg := signingAlgs[algName]
	if err := usable(key); err != nil {
		return nil, alg, err
	}
	if key.KeyUsage != usageSign {
		return nil, alg, kmsErr(codeInvalidKeyUsage, "%s key usage is %s which is not valid for this operation.", key.ARN, key.KeyUsage)
	}
	ok := false
	for _, a := range signingAlgorithms(key) {
		ok = ok || a == algName
	}
	if !ok {
		return nil, alg, kmsErr(codeInvalidKeyUsage, "Algorithm %s is incompatible with key spec %s.", algName, key.KeySpec)
	}
	m, err := k.openVersion(ctx, key, 1)
	if err != nil {
		return nil, alg, internal(err)
	}
	return m, alg, nil
}

type signOutput struct {
	KeyId            string `json:"KeyId"`
	Signature        []byte `json:"Signature"`
	SigningAlgorithm string `json:"SigningAlgorithm"`
}

func (k *Keys) sign(ctx context.Context, _ *api.Call, in *signInput) (any, error) {
	key := &in.t.key
	m, alg, err := k.signingMaterial(ctx, key, in.SigningAlgorithm)
	if err != nil {
		return nil, err
	}
	d, err := digest(alg, in.MessageType, in.Message)
	if err != nil {
		return nil, err
	}
	var sig []byte
	switch {
	case alg.ec:
		sig, err = ecdsa.SignASN1(rand.Reader, m.ec, d)
	case alg.pss:
		sig, err = rsa.SignPSS(rand.Reader, m.rsa, alg.hash, d, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	default:
		sig, err = rsa.SignPKCS1v15(rand.Reader, m.rsa, alg.hash, d)
	}
	if err != nil {
		return nil, internal(fmt.Errorf("sign with %s: %w", key.KeyID, err))
	}
	if in.DryRun {
		return nil, dryRun()
	}
	return signOutput{KeyId: key.ARN, Signature: sig, SigningAlgorithm: in.SigningAlgorithm}, nil
}

type verifyInput struct {
	signInput
	Signature []byte `json:"Signature"`
}

// Validate implements api.Validator.
func (in *verifyInput) Validate() error {
	if len(in.Signature) == 0 || len(in.Signature) > 6144 {
		return validation("1 validation error detected: Value at 'signature' failed to satisfy constraint: Member must have length between 1 and 6144")
	}
	return in.signInput.Validate()
}

type verifyOutput struct {
	KeyId            string `json:"KeyId"`
	SignatureValid   bool   `json:"SignatureValid"`
	SigningAlgorithm string `json:"SigningAlgorithm"`
}

func (k *Keys) verify(ctx context.Context, _ *api.Call, in *verifyInput) (any, error) {
	key := &in.t.key
	m, alg, err := k.signingMaterial(ctx, key, in.SigningAlgorithm)
	if err != nil {
		return nil, err
	}
	d, err := digest(alg, in.MessageType, in.Message)
	if err != nil {
		return nil, err
	}
	var valid bool
	switch {
	case alg.ec:
		valid = ecdsa.VerifyASN1(&m.ec.PublicKey, d, in.Signature)
	case alg.pss:
		valid = rsa.VerifyPSS(&m.rsa.PublicKey, alg.hash, d, in.Signature, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	default:
		valid = rsa.VerifyPKCS1v15(&m.rsa.PublicKey, alg.hash, d, in.Signature) == nil
	}
	if !valid {
		return nil, kmsErr(codeInvalidSignature, "")
	}
	if in.DryRun {
		return nil, dryRun()
	}
	return verifyOutput{KeyId: key.ARN, SignatureValid: true, SigningAlgorithm: in.SigningAlgorithm}, nil
}

// --- GetPublicKey

type getPublicKeyInput struct {
	keyInput
	GrantTokens grantTokens `json:"GrantTokens"`
}

// Validate implements api.Validator.
func (in *getPublicKeyInput) Validate() error { return in.GrantTokens.check() }

type getPublicKeyOutput struct {
	KeyId                 string   `json:"KeyId"`
	PublicKey             []byte   `json:"PublicKey"`
	CustomerMasterKeySpec string   `json:"CustomerMasterKeySpec"`
	KeySpec               string   `json:"KeySpec"`
	KeyUsage              string   `json:"KeyUsage"`
	EncryptionAlgorithms  []string `json:"EncryptionAlgorithms,omitempty"`
	SigningAlgorithms     []string `json:"SigningAlgorithms,omitempty"`
}

func (k *Keys) getPublicKey(_ context.Context, _ *api.Call, in *getPublicKeyInput) (any, error) {
	key := &in.t.key
	if err := usable(key); err != nil {
		return nil, err
	}
	if len(key.PublicKey) == 0 {
		return nil, kmsErr(codeUnsupported, "%s is not an asymmetric KMS key; it has no public key.", key.ARN)
	}
	if _, err := x509.ParsePKIXPublicKey(key.PublicKey); err != nil {
		return nil, internal(fmt.Errorf("key %s public key: %w", key.KeyID, err))
	}
	return getPublicKeyOutput{KeyId: key.ARN, PublicKey: key.PublicKey, CustomerMasterKeySpec: key.KeySpec,
		KeySpec: key.KeySpec, KeyUsage: key.KeyUsage, EncryptionAlgorithms: encryptionAlgorithms(key),
		SigningAlgorithms: signingAlgorithms(key)}, nil
}

// --- GenerateMac, VerifyMac

type generateMacInput struct {
	keyInput
	Message      []byte      `json:"Message"`
	MacAlgorithm string      `json:"MacAlgorithm"`
	GrantTokens  grantTokens `json:"GrantTokens"`
	DryRun       bool        `json:"DryRun"`
}

// Validate implements api.Validator.
func (in *generateMacInput) Validate() error {
	if len(in.Message) == 0 || len(in.Message) > 4096 {
		return validation("1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length between 1 and 4096")
	}
	switch in.MacAlgorithm {
	case "HMAC_SHA_256":
	case "":
		return validation("1 validation error detected: Value null at 'macAlgorithm' failed to satisfy constraint: Member must not be null")
	case "HMAC_SHA_224", "HMAC_SHA_384", "HMAC_SHA_512":
		// Valid names, but no supported key spec uses them.
	default:
		return validation("1 validation error detected: Value '%s' at 'macAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [HMAC_SHA_384, HMAC_SHA_256, HMAC_SHA_224, HMAC_SHA_512]", in.MacAlgorithm)
	}
	return in.GrantTokens.check()
}

// RequestContext implements api.ContextProvider.
func (in *generateMacInput) RequestContext(c *api.Call) map[string][]string {
	m := in.t.context(c)
	m["kms:MacAlgorithm"] = []string{in.MacAlgorithm}
	return m
}

func (k *Keys) mac(ctx context.Context, key *store.KMSKey, alg string, msg []byte) ([]byte, error) {
	if err := usable(key); err != nil {
		return nil, err
	}
	if key.KeyUsage != usageMAC {
		return nil, kmsErr(codeInvalidKeyUsage, "%s key usage is %s which is not valid for this operation.", key.ARN, key.KeyUsage)
	}
	if alg != "HMAC_SHA_256" {
		return nil, kmsErr(codeInvalidKeyUsage, "Algorithm %s is incompatible with key spec %s.", alg, key.KeySpec)
	}
	m, err := k.openVersion(ctx, key, 1)
	if err != nil {
		return nil, internal(err)
	}
	h := hmac.New(sha256.New, m.mac)
	h.Write(msg)
	return h.Sum(nil), nil
}

type generateMacOutput struct {
	Mac          []byte `json:"Mac"`
	MacAlgorithm string `json:"MacAlgorithm"`
	KeyId        string `json:"KeyId"`
}

func (k *Keys) generateMac(ctx context.Context, _ *api.Call, in *generateMacInput) (any, error) {
	mac, err := k.mac(ctx, &in.t.key, in.MacAlgorithm, in.Message)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, dryRun()
	}
	return generateMacOutput{Mac: mac, MacAlgorithm: in.MacAlgorithm, KeyId: in.t.key.ARN}, nil
}

type verifyMacInput struct {
	generateMacInput
	Mac []byte `json:"Mac"`
}

// Validate implements api.Validator.
func (in *verifyMacInput) Validate() error {
	if len(in.Mac) == 0 || len(in.Mac) > 6144 {
		return validation("1 validation error detected: Value at 'mac' failed to satisfy constraint: Member must have length between 1 and 6144")
	}
	return in.generateMacInput.Validate()
}

type verifyMacOutput struct {
	KeyId        string `json:"KeyId"`
	MacValid     bool   `json:"MacValid"`
	MacAlgorithm string `json:"MacAlgorithm"`
}

func (k *Keys) verifyMac(ctx context.Context, _ *api.Call, in *verifyMacInput) (any, error) {
	mac, err := k.mac(ctx, &in.t.key, in.MacAlgorithm, in.Message)
	if err != nil {
		return nil, err
	}
	if !hmac.Equal(mac, in.Mac) {
		return nil, kmsErr(codeInvalidMac, "")
	}
	if in.DryRun {
		return nil, dryRun()
	}
	return verifyMacOutput{KeyId: in.t.key.ARN, MacValid: true, MacAlgorithm: in.MacAlgorithm}, nil
}
