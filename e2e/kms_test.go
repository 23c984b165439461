package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
)

type kmsKeyOut struct {
	KeyMetadata struct {
		KeyId    string `json:"KeyId"`
		Arn      string `json:"Arn"`
		KeyState string `json:"KeyState"`
	} `json:"KeyMetadata"`
}

// TestKMSCLI drives KMS with the unmodified aws CLI: keys, aliases,
// encryption with a context, data keys, signatures, a disabled key and a
// key policy that does not delegate to IAM. (TestKMSSDK covers rotation,
// grants, MACs and deletion, faster.)
func TestKMSCLI(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	root := rootCLI(t, s)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return "fileb://" + p
	}

	var key kmsKeyOut
	root.ok(&key, "kms", "create-key", "--description", "e2e key", "--tags", "TagKey=team,TagValue=blue")
	id := key.KeyMetadata.KeyId
	if key.KeyMetadata.KeyState != "Enabled" || !strings.HasPrefix(key.KeyMetadata.Arn, "arn:aws:kms:us-east-1:") {
		t.Fatalf("create-key: %+v", key)
	}
	root.ok(nil, "kms", "create-alias", "--alias-name", "alias/e2e", "--target-key-id", id)
	root.fails("InvalidAliasNameException", nil, "kms", "create-alias", "--alias-name", "alias/aws/mine", "--target-key-id", id)

	plaintext := []byte("the launch codes \x00\x01\x02")
	var enc struct{ CiphertextBlob, KeyId string }
	root.ok(&enc, "kms", "encrypt", "--key-id", "alias/e2e", "--plaintext", write("pt", plaintext),
		"--encryption-context", "purpose=e2e,tenant=a")
	ct := write("ct", mustDecode(t, enc.CiphertextBlob))
	var dec struct{ Plaintext, KeyId string }
	root.ok(&dec, "kms", "decrypt", "--ciphertext-blob", ct, "--encryption-context", "purpose=e2e,tenant=a")
	if !bytes.Equal(mustDecode(t, dec.Plaintext), plaintext) || dec.KeyId != key.KeyMetadata.Arn {
		t.Fatalf("decrypt: %+v", dec)
	}
	root.fails("InvalidCiphertextException", nil, "kms", "decrypt", "--ciphertext-blob", ct, "--encryption-context", "purpose=other,tenant=a")
	root.fails("InvalidCiphertextException", nil, "kms", "decrypt", "--ciphertext-blob", write("junk", []byte("not a ciphertext blob at all, just bytes")))

	var dk struct{ Plaintext, CiphertextBlob string }
	root.ok(&dk, "kms", "generate-data-key", "--key-id", id, "--key-spec", "AES_256")
	if len(mustDecode(t, dk.Plaintext)) != 32 {
		t.Fatalf("data key: %+v", dk)
	}
	root.ok(&dec, "kms", "decrypt", "--ciphertext-blob", write("dk", mustDecode(t, dk.CiphertextBlob)))
	if dec.Plaintext != dk.Plaintext {
		t.Fatal("data key blob does not decrypt to the data key")
	}

	// Signatures, verified by KMS and locally with the public key.
	var signKey kmsKeyOut
	root.ok(&signKey, "kms", "create-key", "--key-spec", "ECC_NIST_P256", "--key-usage", "SIGN_VERIFY")
	msg := []byte("release v1.2.3")
	var sig struct{ Signature string }
	root.ok(&sig, "kms", "sign", "--key-id", signKey.KeyMetadata.KeyId, "--message", write("msg", msg),
		"--message-type", "RAW", "--signing-algorithm", "ECDSA_SHA_256")
	var ver struct{ SignatureValid bool }
	root.ok(&ver, "kms", "verify", "--key-id", signKey.KeyMetadata.KeyId, "--message", write("msg", msg),
		"--message-type", "RAW", "--signing-algorithm", "ECDSA_SHA_256", "--signature", write("sig", mustDecode(t, sig.Signature)))
	if !ver.SignatureValid {
		t.Fatal("verify: signature not valid")
	}
	root.fails("KMSInvalidSignatureException", nil, "kms", "verify", "--key-id", signKey.KeyMetadata.KeyId, "--message", write("other", []byte("other")),
		"--signing-algorithm", "ECDSA_SHA_256", "--signature", write("sig", mustDecode(t, sig.Signature)))
	var pub struct{ PublicKey string }
	root.ok(&pub, "kms", "get-public-key", "--key-id", signKey.KeyMetadata.KeyId)
	pk, err := x509.ParsePKIXPublicKey(mustDecode(t, pub.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(msg)
	if !ecdsa.VerifyASN1(pk.(*ecdsa.PublicKey), digest[:], mustDecode(t, sig.Signature)) {
		t.Fatal("signature does not verify with the public key")
	}

	// Disabled and pending-deletion keys are unusable.
	root.ok(nil, "kms", "disable-key", "--key-id", id)
	root.fails("DisabledException", nil, "kms", "encrypt", "--key-id", id, "--plaintext", write("pt", plaintext))
	root.fails("DisabledException", nil, "kms", "decrypt", "--ciphertext-blob", ct, "--encryption-context", "purpose=e2e,tenant=a")
	root.ok(nil, "kms", "enable-key", "--key-id", id)
	root.fails("NotFoundException", nil, "kms", "describe-key", "--key-id", "alias/missing")

	// Key policies: IAM permission alone does not open a key whose policy
	// does not delegate to the account; a policy naming the user does.
	iamOnly := newUser(root, "iam-only", allow(`"kms:*"`, "*"))
	owner := newUser(root, "key-owner", "")
	var who struct{ Account string }
	root.ok(&who, "sts", "get-caller-identity")
	ownerARN := "arn:aws:iam::" + who.Account + ":user/key-owner"
	pol := `{"Version":"2012-10-17","Statement":[{"Sid":"owner","Effect":"Allow","Principal":{"AWS":"` + ownerARN + `"},"Action":"kms:*","Resource":"*"}]}`
	root.fails("MalformedPolicyDocumentException", nil, "kms", "create-key", "--policy", pol)
	var locked kmsKeyOut
	root.ok(&locked, "kms", "create-key", "--policy", pol, "--bypass-policy-lockout-safety-check")
	iamOnly.fails("AccessDeniedException", []string{"kms:Encrypt", "no resource-based policy allows"},
		"kms", "encrypt", "--key-id", locked.KeyMetadata.KeyId, "--plaintext", write("pt", plaintext))
	owner.ok(nil, "kms", "encrypt", "--key-id", locked.KeyMetadata.KeyId, "--plaintext", write("pt", plaintext))
	iamOnly.ok(nil, "kms", "encrypt", "--key-id", id, "--plaintext", write("pt", plaintext))
	owner.fails("AccessDeniedException", nil, "kms", "encrypt", "--key-id", id, "--plaintext", write("pt", plaintext))

	var aliases struct {
		Aliases []struct{ AliasName, TargetKeyId string }
	}
	root.ok(&aliases, "kms", "list-aliases", "--key-id", id)
	if len(aliases.Aliases) != 1 || aliases.Aliases[0].AliasName != "alias/e2e" {
		t.Fatalf("list-aliases: %+v", aliases)
	}
	var keys struct{ Keys []struct{ KeyId string } }
	root.ok(&keys, "kms", "list-keys")
	if len(keys.Keys) != 3 {
		t.Fatalf("list-keys: %d keys, want 3", len(keys.Keys))
	}
}

func kmsClient(s *server, akid, secret string) *kms.Client {
	return kms.New(kms.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, ""), RetryMaxAttempts: 1})
}

// TestKMSSDK drives KMS with aws-sdk-go-v2.
func TestKMSSDK(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	akid, secret := rootCredentials(t, s.DataDir)
	c := kmsClient(s, akid, secret)
	ctx := context.Background()
	code := func(err error) string {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			return ae.ErrorCode()
		}
		return ""
	}

	k, err := c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("sdk")})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(k.KeyMetadata.KeyId)
	if k.KeyMetadata.KeySpec != types.KeySpecSymmetricDefault || k.KeyMetadata.CreationDate == nil {
		t.Fatalf("CreateKey: %+v", k.KeyMetadata)
	}
	ec := map[string]string{"app": "sdk"}
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: []byte("hello"), EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
	if err != nil || string(dec.Plaintext) != "hello" || dec.EncryptionAlgorithm != types.EncryptionAlgorithmSpecSymmetricDefault {
		t.Fatalf("Decrypt: %v %+v", err, dec)
	}
	if _, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob}); code(err) != "InvalidCiphertextException" {
		t.Fatalf("Decrypt without context: %v", err)
	}
	var ice *types.InvalidCiphertextException
	if _, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: []byte("junk")}); !errors.As(err, &ice) {
		t.Fatalf("Decrypt junk: %v, want a typed InvalidCiphertextException", err)
	}

	k2, err := c.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	re, err := c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: ec,
		DestinationKeyId: k2.KeyMetadata.KeyId})
	if err != nil || aws.ToString(re.KeyId) != aws.ToString(k2.KeyMetadata.Arn) {
		t.Fatalf("ReEncrypt: %v", err)
	}
	if dec, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: re.CiphertextBlob}); err != nil || string(dec.Plaintext) != "hello" {
		t.Fatalf("Decrypt re-encrypted: %v", err)
	}

	dk, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(id), KeySpec: types.DataKeySpecAes128})
	if err != nil || len(dk.Plaintext) != 16 {
		t.Fatalf("GenerateDataKey: %v", err)
	}
	pair, err := c.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: aws.String(id), KeyPairSpec: types.DataKeyPairSpecEccNistP384})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x509.ParsePKCS8PrivateKey(pair.PrivateKeyPlaintext); err != nil {
		t.Fatalf("data key pair private key: %v", err)
	}
	rnd, err := c.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(64)})
	if err != nil || len(rnd.Plaintext) != 64 {
		t.Fatalf("GenerateRandom: %v", err)
	}

	rk, err := c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeSignVerify})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := c.Sign(ctx, &kms.SignInput{KeyId: rk.KeyMetadata.KeyId, Message: []byte("m"), SigningAlgorithm: types.SigningAlgorithmSpecRsassaPssSha256})
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Verify(ctx, &kms.VerifyInput{KeyId: rk.KeyMetadata.KeyId, Message: []byte("m"), Signature: sig.Signature,
		SigningAlgorithm: types.SigningAlgorithmSpecRsassaPssSha256})
	if err != nil || !v.SignatureValid {
		t.Fatalf("Verify: %v", err)
	}
	pub, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: rk.KeyMetadata.KeyId})
	if err != nil || len(pub.SigningAlgorithms) != 6 {
		t.Fatalf("GetPublicKey: %v", err)
	}

	if _, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	var de *types.DisabledException
	if _, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: []byte("x")}); !errors.As(err, &de) {
		t.Fatalf("Encrypt with a disabled key: %v", err)
	}
	var nf *types.NotFoundException
	if _, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/none")}); !errors.As(err, &nf) {
		t.Fatalf("DescribeKey(alias/none): %v", err)
	}
	// DescribeKey on Secrets Manager's AWS managed key alias creates it.
	mk, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/aws/secretsmanager")})
	if err != nil || mk.KeyMetadata.KeyManager != types.KeyManagerTypeAws {
		t.Fatalf("DescribeKey(alias/aws/secretsmanager): %v", err)
	}
	if _, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/aws/secretsmanager"), Plaintext: []byte("x")}); code(err) != "AccessDeniedException" {
		t.Fatalf("direct use of the AWS managed key: %v", err)
	}

	// Rotation: old ciphertext keeps decrypting.
	if _, err := c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: k2.KeyMetadata.KeyId, RotationPeriodInDays: aws.Int32(90)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: k2.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	rots, err := c.ListKeyRotations(ctx, &kms.ListKeyRotationsInput{KeyId: k2.KeyMetadata.KeyId})
	if err != nil || len(rots.Rotations) != 1 || rots.Rotations[0].RotationType != types.RotationTypeOnDemand {
		t.Fatalf("ListKeyRotations: %v %+v", err, rots)
	}
	st, err := c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: k2.KeyMetadata.KeyId})
	if err != nil || !st.KeyRotationEnabled || aws.ToInt32(st.RotationPeriodInDays) != 90 {
		t.Fatalf("GetKeyRotationStatus: %v %+v", err, st)
	}
	if dec, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: re.CiphertextBlob}); err != nil || string(dec.Plaintext) != "hello" {
		t.Fatalf("Decrypt after rotation: %v", err)
	}

	// HMAC.
	mk2, err := c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecHmac256, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
	if err != nil {
		t.Fatal(err)
	}
	mac, err := c.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: mk2.KeyMetadata.KeyId, Message: []byte("m"), MacAlgorithm: types.MacAlgorithmSpecHmacSha256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: mk2.KeyMetadata.KeyId, Message: []byte("x"), Mac: mac.Mac,
		MacAlgorithm: types.MacAlgorithmSpecHmacSha256}); code(err) != "KMSInvalidMacException" {
		t.Fatalf("VerifyMac with another message: %v", err)
	}

	// Grants, retired by the retiring principal.
	g, err := c.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: k2.KeyMetadata.KeyId, GranteePrincipal: aws.String("arn:aws:iam::" + aws.ToString(k2.KeyMetadata.AWSAccountId) + ":user/app"),
		RetiringPrincipal: aws.String("arn:aws:iam::" + aws.ToString(k2.KeyMetadata.AWSAccountId) + ":root"),
		Operations:        []types.GrantOperation{types.GrantOperationDecrypt}, Name: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	gl, err := c.ListGrants(ctx, &kms.ListGrantsInput{KeyId: k2.KeyMetadata.KeyId})
	if err != nil || len(gl.Grants) != 1 || aws.ToString(gl.Grants[0].GrantId) != aws.ToString(g.GrantId) {
		t.Fatalf("ListGrants: %v", err)
	}
	if _, err := c.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: g.GrantToken}); err != nil {
		t.Fatalf("RetireGrant: %v", err)
	}

	// Deletion window: pending keys are unusable; cancelling leaves the key disabled.
	sd, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: mk2.KeyMetadata.KeyId, PendingWindowInDays: aws.Int32(7)})
	if err != nil || sd.KeyState != types.KeyStatePendingDeletion || sd.DeletionDate == nil {
		t.Fatalf("ScheduleKeyDeletion: %v", err)
	}
	var ise *types.KMSInvalidStateException
	if _, err := c.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: mk2.KeyMetadata.KeyId, Message: []byte("m"), MacAlgorithm: types.MacAlgorithmSpecHmacSha256}); !errors.As(err, &ise) {
		t.Fatalf("GenerateMac with a key pending deletion: %v", err)
	}
	if _, err := c.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: mk2.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	if d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: mk2.KeyMetadata.KeyId}); err != nil || d.KeyMetadata.KeyState != types.KeyStateDisabled {
		t.Fatalf("after CancelKeyDeletion: %v", err)
	}
	pages := kms.NewListKeysPaginator(c, &kms.ListKeysInput{Limit: aws.Int32(2)})
	n := 0
	for pages.HasMorePages() {
		p, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(p.Keys)
	}
	if n != 5 {
		t.Fatalf("ListKeys paginator: %d keys, want 5", n)
	}
	if _, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(3)}); code(err) != "ValidationException" {
		t.Fatalf("ScheduleKeyDeletion(3 days): %v", err)
	}
}
