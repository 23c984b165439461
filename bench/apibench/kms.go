package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// kmsDecryptTarget sets up, as root, a customer key with the default key
// policy (which delegates to IAM), a user "apibench-kms" whose identity
// policy allows kms:Decrypt, and a ciphertext with an encryption context;
// the target is that user's signed Decrypt with no KeyId (the blob names
// its key): SigV4, the key lookup, the key policy and the identity policy,
// AES-256-GCM.
func kmsDecryptTarget(ctx context.Context, endpoint string, hc *http.Client, akid, secret string) (string, func(context.Context) error, error) {
	opts := func(id, sec string) kms.Options {
		return kms.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), HTTPClient: hc,
			Credentials: credentials.NewStaticCredentialsProvider(id, sec, ""), RetryMaxAttempts: 1}
	}
	rootKMS := kms.New(opts(akid, secret))
	key, err := rootKMS.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("apibench")})
	if err != nil {
		return "", nil, fmt.Errorf("create key: %w", err)
	}
	ec := map[string]string{"purpose": "apibench"}
	enc, err := rootKMS.Encrypt(ctx, &kms.EncryptInput{KeyId: key.KeyMetadata.KeyId, Plaintext: make([]byte, 32), EncryptionContext: ec})
	if err != nil {
		return "", nil, fmt.Errorf("encrypt: %w", err)
	}
	root := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, ""), RetryMaxAttempts: 1})
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("apibench-kms")}); err != nil {
		return "", nil, fmt.Errorf("create user: %w", err)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}`
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("apibench-kms"), PolicyName: aws.String("bench"), PolicyDocument: &doc}); err != nil {
		return "", nil, fmt.Errorf("put user policy: %w", err)
	}
	k, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("apibench-kms")})
	if err != nil {
		return "", nil, fmt.Errorf("create access key: %w", err)
	}
	user := kms.New(opts(aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey)))
	blob := enc.CiphertextBlob
	return "kms:Decrypt by an IAM user (key + identity policy)", func(ctx context.Context) error {
		_, err := user.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: ec})
		return err
	}, nil
}
