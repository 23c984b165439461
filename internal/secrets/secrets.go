// Package secrets is Bulwark's AWS Secrets Manager (JSON 1.1, X-Amz-Target
// "secretsmanager"): secrets with versions and staging labels, resource
// policies, tags, scheduled deletion and GetRandomPassword.
//
// Every value is envelope-encrypted: a fresh data key from KMS (KeyService)
// seals it with AES-256-GCM, the secret's ARN and the version id as
// additional data, and only the KMS ciphertext of the data key and the
// sealed value reach the store. Reading a value therefore needs
// secretsmanager:GetSecretValue (identity and resource policy, checked by
// the server from the action table) and kms:Decrypt on the key via Secrets
// Manager (checked by KMS when the service asks it on the caller's behalf),
// as in AWS.
//
// Rotation (RotateSecret, its scheduler and rotators) lives in another
// package and uses the in-process API in versions.go: PutVersion,
// MoveStage, ReadVersion, Secret and UpdateRotation.
package secrets

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/store"
)

// KeyService is the part of KMS Secrets Manager uses, acting for the caller
// c: KMS authorises each call as made by c via Secrets Manager
// (kms:ViaService). Errors are *awsproto.Error values with KMS's codes.
// keyID "" means the AWS managed key alias/aws/secretsmanager.
type KeyService interface {
	GenerateDataKey(ctx context.Context, c *api.Call, keyID string, encCtx map[string]string) (plaintext, blob []byte, keyARN string, err error)
	Decrypt(ctx context.Context, c *api.Call, blob []byte, encCtx map[string]string) (plaintext []byte, keyARN string, err error)
	ResolveKey(ctx context.Context, c *api.Call, keyID string) (keyARN string, err error)
}

// Store is the persistent state the service needs.
type Store interface {
	store.Secrets
}

// Config is what the service needs. Store, Keys and Authorizer are required.
type Config struct {
	Store Store
	Keys  KeyService
	// Authorizer decides the per-secret checks of BatchGetSecretValue.
	Authorizer authz.Authorizer
	Logger     *slog.Logger
	Now        func() time.Time
	// PurgeInterval is how often Run removes secrets whose recovery window
	// has ended; zero means one minute.
	PurgeInterval time.Duration
}

// Service is the Secrets Manager implementation.
type Service struct {
	cfg      Config
	policies policyCache
	svc      *api.Service
	// resolved passes the secret a request's Resources function read to
	// its ResourcePolicy function (keyed by the call, taken once).
	resolved sync.Map
}

// Limits, as the Secrets Manager API reference and quotas give them.
const (
	maxNameLen        = 512
	maxIDLen          = 2048
	maxDescriptionLen = 2048
	maxKeyIDLen       = 2048
	maxValueBytes     = 65536
	maxTags           = 50
	maxStagesPerVer   = 20
	maxStageLen       = 256
	keepDeprecated    = 100
	maxVersions       = 200
	maxPolicyLen      = 20480
	lookupTimeout     = 5 * time.Second
	defaultKeyAlias   = "alias/aws/secretsmanager"
	eventSource       = "secretsmanager.amazonaws.com"
)

// New returns the service; Service.API is its action table.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Keys == nil || cfg.Authorizer == nil {
		return nil, errors.New("secrets: Store, Keys and Authorizer are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PurgeInterval <= 0 {
		cfg.PurgeInterval = time.Minute
	}
	s := &Service{cfg: cfg}
	s.svc = s.table()
	return s, nil
}

// API returns the service's action table.
func (s *Service) API() *api.Service { return s.svc }

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// Condition keys (Service Authorization Reference, AWS Secrets Manager).
const (
	keySecretID       = "secretsmanager:SecretId"
	keyName           = "secretsmanager:Name"
	keyDescription    = "secretsmanager:Description"
	keyKmsKeyArn      = "secretsmanager:KmsKeyArn"
	keyVersionID      = "secretsmanager:VersionId"
	keyVersionStage   = "secretsmanager:VersionStage"
	keyResourceTag    = "secretsmanager:ResourceTag/"
	keyAWSResourceTag = "aws:ResourceTag/"
	keyRequestTag     = "aws:RequestTag/"
	keyTagKeys        = "aws:TagKeys"
	keyBlockPublic    = "secretsmanager:BlockPublicPolicy"
	keyRecoveryWindow = "secretsmanager:RecoveryWindowInDays"
	keyForceDelete    = "secretsmanager:ForceDeleteWithoutRecovery"
	keyPrimaryRegion  = "secretsmanager:SecretPrimaryRegion"
)

var (
	onSecret = []string{keySecretID, keyResourceTag + "${TagKey}", keyAWSResourceTag + "${TagKey}", keyPrimaryRegion}
	tagKeys  = []string{keyRequestTag + "${TagKey}", keyTagKeys}
)

func keys(groups ...[]string) []string {
	var out []string
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func (s *Service) table() *api.Service {
	rp := s.resourcePolicy
	return &api.Service{
		SigningName:        "secretsmanager",
		EventSource:        eventSource,
		Protocol:           api.JSON,
		TargetPrefix:       "secretsmanager",
		AccessDeniedCode:   "AccessDeniedException",
		AccessDeniedStatus: http.StatusBadRequest,
		Actions: []api.Action{
			api.Define(api.Action{Name: "CreateSecret", IAMAction: "secretsmanager:CreateSecret", Access: api.AccessWrite,
				ConditionKeys: keys([]string{keyName, keyDescription, keyKmsKeyArn}, tagKeys)},
				s.resCreate, s.createSecret),
			api.Define(api.Action{Name: "GetSecretValue", IAMAction: "secretsmanager:GetSecretValue", Access: api.AccessRead,
				ConditionKeys: keys(onSecret, []string{keyVersionID, keyVersionStage}), ResourcePolicy: rp},
				resolveRes[getSecretValueInput](s), s.getSecretValue),
			api.Define(api.Action{Name: "BatchGetSecretValue", IAMAction: "secretsmanager:BatchGetSecretValue", Access: api.AccessRead},
				anyResource[batchGetSecretValueInput], s.batchGetSecretValue),
			api.Define(api.Action{Name: "PutSecretValue", IAMAction: "secretsmanager:PutSecretValue", Access: api.AccessWrite,
				ConditionKeys: onSecret, ResourcePolicy: rp},
				resolveRes[putSecretValueInput](s), s.putSecretValue),
			api.Define(api.Action{Name: "UpdateSecret", IAMAction: "secretsmanager:UpdateSecret", Access: api.AccessWrite,
				ConditionKeys: keys(onSecret, []string{keyDescription, keyKmsKeyArn}), ResourcePolicy: rp},
				resolveRes[updateSecretInput](s), s.updateSecret),
			api.Define(api.Action{Name: "DescribeSecret", IAMAction: "secretsmanager:DescribeSecret", Access: api.AccessRead,
				ConditionKeys: onSecret, ResourcePolicy: rp},
				resolveRes[secretIDInput](s), s.describeSecret),
			api.Define(api.Action{Name: "ListSecrets", IAMAction: "secretsmanager:ListSecrets", Access: api.AccessList},
				anyResource[listSecretsInput], s.listSecrets),
			api.Define(api.Action{Name: "ListSecretVersionIds", IAMAction: "secretsmanager:ListSecretVersionIds", Access: api.AccessRead,
				ConditionKeys: onSecret, ResourcePolicy: rp},
				resolveRes[listVersionsInput](s), s.listSecretVersionIDs),
			api.Define(api.Action{Name: "UpdateSecretVersionStage", IAMAction: "secretsmanager:UpdateSecretVersionStage", Access: api.AccessWrite,
				ConditionKeys: keys(onSecret, []string{keyVersionStage}), ResourcePolicy: rp},
				resolveRes[updateStageInput](s), s.updateSecretVersionStage),
			api.Define(api.Action{Name: "DeleteSecret", IAMAction: "secretsmanager:DeleteSecret", Access: api.AccessWrite,
				ConditionKeys: keys(onSecret, []string{keyRecoveryWindow, keyForceDelete}), ResourcePolicy: rp},
				resolveRes[deleteSecretInput](s), s.deleteSecret),
			api.Define(api.Action{Name: "RestoreSecret", IAMAction: "secretsmanager:RestoreSecret", Access: api.AccessWrite,
				ConditionKeys: onSecret, ResourcePolicy: rp},
				resolveRes[secretIDInput](s), s.restoreSecret),
			api.Define(api.Action{Name: "TagResource", IAMAction: "secretsmanager:TagResource", Access: api.AccessTagging,
				ConditionKeys: keys(onSecret, tagKeys), ResourcePolicy: rp},
				resolveRes[tagInput](s), s.tagResource),
			api.Define(api.Action{Name: "UntagResource", IAMAction: "secretsmanager:UntagResource", Access: api.AccessTagging,
				ConditionKeys: keys(onSecret, []string{keyTagKeys}), ResourcePolicy: rp},
				resolveRes[untagInput](s), s.untagResource),
			api.Define(api.Action{Name: "PutResourcePolicy", IAMAction: "secretsmanager:PutResourcePolicy", Access: api.AccessPermissions,
				ConditionKeys: keys(onSecret, []string{keyBlockPublic}), ResourcePolicy: rp},
				resolveRes[putPolicyInput](s), s.putResourcePolicy),
			api.Define(api.Action{Name: "GetResourcePolicy", IAMAction: "secretsmanager:GetResourcePolicy", Access: api.AccessRead,
				ConditionKeys: onSecret, ResourcePolicy: rp},
				resolveRes[secretIDInput](s), s.getResourcePolicy),
			api.Define(api.Action{Name: "DeleteResourcePolicy", IAMAction: "secretsmanager:DeleteResourcePolicy", Access: api.AccessPermissions,
				ConditionKeys: onSecret, ResourcePolicy: rp},
				resolveRes[secretIDInput](s), s.deleteResourcePolicy),
			api.Define(api.Action{Name: "ValidateResourcePolicy", IAMAction: "secretsmanager:ValidateResourcePolicy", Access: api.AccessPermissions,
				ConditionKeys: onSecret, ResourcePolicy: rp},
				s.resValidate, s.validateResourcePolicy),
			api.Define(api.Action{Name: "GetRandomPassword", IAMAction: "secretsmanager:GetRandomPassword", Access: api.AccessRead},
				anyResource[randomPasswordInput], s.getRandomPassword),
		},
	}
}

func anyResource[In any](*api.Call, *In) []string { return []string{"*"} }

// resolver is implemented by inputs naming one secret (SecretId).
type resolver interface {
	secretID() string
	target() *found
}

// resolveRes returns the Resources function of an action on one secret:
// it looks the secret up, keeping it in the input for the handler and the
// condition keys, and names its ARN (or, for a secret that does not exist,
// the ARN the id would have, so a caller who may not act on it learns
// nothing from the answer).
func resolveRes[In any, P interface {
	*In
	resolver
}](s *Service) api.Resources[In] {
	return func(c *api.Call, in *In) []string {
		r := P(in)
		f := r.target()
		s.resolve(c, r.secretID(), f)
		if f.secret != nil {
			// The server asks for the resource policy next: hand it the
			// row just read, so authorisation and the handler see the
			// same version of the secret and the store is read once.
			s.resolved.Store(c, f.secret)
		}
		return []string{f.arn}
	}
}
