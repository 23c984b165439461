// Package iam is Bulwark's AWS Identity and Access Management service (query
// protocol, version 2010-05-08). IAM is global: its ARNs have an empty region
// (arn:aws:iam::111122223333:user/division/bob). The action table below is
// the list of IAM operations the server answers; anything not in it is
// InvalidAction. Handlers validate input as AWS does, program against the
// store.IAM interface (which enforces the quotas inside its transactions)
// and answer with AWS's element names, error codes and messages.
package iam

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/store"
)

// Namespace is the IAM query protocol's XML namespace.
const Namespace = "https://iam.amazonaws.com/doc/2010-05-08/"

// Quotas from "IAM and AWS STS quotas" (IAM User Guide).
const (
	maxAccessKeysPerUser   = 2
	maxGroupsPerUser       = 10
	maxManagedPerEntity    = 10
	maxPolicyVersions      = 5
	maxTagsPerResource     = 50
	maxClientIDsPerOIDC    = 100
	maxThumbprintsPerOIDC  = 5
	minMaxSessionDuration  = 3600
	maxMaxSessionDuration  = 43200
	defaultMaxItems        = 100
	maxMaxItems            = 1000
	lookupTimeout          = 2 * time.Second
	awsManagedPolicyPrefix = "arn:aws:iam::aws:policy"
)

// Sealer seals secret access keys before they reach the store.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
}

// Config is what the IAM service needs. Store, IAM and Keyring are required.
type Config struct {
	Store   store.Store
	IAM     store.IAM
	Keyring Sealer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnAccessKeyChange is called after a key is deactivated or deleted, so
	// the server's credential cache forgets it at once. Nil means nothing.
	OnAccessKeyChange func(accessKeyID string)
}

// service holds the configuration the handlers share.
type service struct {
	cfg Config
}

// New returns the IAM service description with its action table.
func New(cfg Config) (*api.Service, error) {
	if cfg.Store == nil || cfg.IAM == nil || cfg.Keyring == nil {
		return nil, errors.New("iam: Store, IAM and Keyring are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OnAccessKeyChange == nil {
		cfg.OnAccessKeyChange = func(string) {}
	}
	s := &service{cfg: cfg}
	return &api.Service{
		SigningName:        "iam",
		EventSource:        "iam.amazonaws.com",
		Protocol:           api.Query,
		Version:            "2010-05-08",
		XMLNamespace:       Namespace,
		Global:             true,
		AccessDeniedCode:   "AccessDenied",
		AccessDeniedStatus: http.StatusForbidden,
		Actions:            s.actions(),
	}, nil
}

// Condition keys as the Service Authorization Reference spells them.
const (
	keyRequestTag   = "aws:RequestTag/${TagKey}"
	keyTagKeys      = "aws:TagKeys"
	keyBoundary     = "iam:PermissionsBoundary"
	keyPolicyARN    = "iam:PolicyARN"
	accessPerms     = api.AccessPermissions
	accessWrite     = api.AccessWrite
	accessRead      = api.AccessRead
	accessList      = api.AccessList
	accessTagging   = api.AccessTagging
	iamActionPrefix = "iam:"
)

var (
	tagKeys         = []string{keyRequestTag, keyTagKeys}
	tagAndBoundary  = []string{keyRequestTag, keyTagKeys, keyBoundary}
	boundaryOnly    = []string{keyBoundary}
	policyAndBound  = []string{keyBoundary, keyPolicyARN}
	policyARNOnly   = []string{keyPolicyARN}
	untagKeys       = []string{keyTagKeys}
	allResourcesARN = []string{"*"}
)

func row(name string, access api.Access, keys ...string) api.Action {
	return api.Action{Name: name, IAMAction: iamActionPrefix + name, Access: access, ConditionKeys: keys}
}

func star[In any](*api.Call, *In) []string { return allResourcesARN }

// actions is the IAM action table: one row per operation, with the access
// level and condition keys of the AWS Service Authorization Reference
// ("Actions, resources, and condition keys for AWS Identity and Access
// Management").
func (s *service) actions() []api.Action {
	return []api.Action{
		// Users.
		api.Define(row("CreateUser", accessWrite, tagAndBoundary...), s.resCreateUser, s.createUser),
		api.Define(row("GetUser", accessRead), s.resOptUser, s.getUser),
		api.Define(row("ListUsers", accessList), star[listInput], s.listUsers),
		api.Define(row("UpdateUser", accessWrite), s.resUpdateUser, s.updateUser),
		api.Define(row("DeleteUser", accessWrite), s.resUserPlain, s.deleteUser),
		api.Define(row("TagUser", accessTagging, tagKeys...), s.resTagUser, s.tagUser),
		api.Define(row("UntagUser", accessTagging, untagKeys...), s.resUntagUser, s.untagUser),
		api.Define(row("ListUserTags", accessList), s.resUserPage, s.listUserTags),
		api.Define(row("PutUserPermissionsBoundary", accessPerms, boundaryOnly...), s.resUserBoundary, s.putUserBoundary),
		api.Define(row("DeleteUserPermissionsBoundary", accessPerms, boundaryOnly...), s.resUser, s.deleteUserBoundary),

		// Groups.
		api.Define(row("CreateGroup", accessWrite), s.resCreateGroup, s.createGroup),
		api.Define(row("GetGroup", accessRead), s.resGroupPage, s.getGroup),
		api.Define(row("ListGroups", accessList), star[listInput], s.listGroups),
		api.Define(row("UpdateGroup", accessWrite), s.resUpdateGroup, s.updateGroup),
		api.Define(row("DeleteGroup", accessWrite), s.resGroup, s.deleteGroup),
		api.Define(row("AddUserToGroup", accessWrite), s.resMembership, s.addUserToGroup),
		api.Define(row("RemoveUserFromGroup", accessWrite), s.resMembership, s.removeUserFromGroup),
		api.Define(row("ListGroupsForUser", accessList), s.resUserPage, s.listGroupsForUser),

		// Roles.
		api.Define(row("CreateRole", accessWrite, tagAndBoundary...), s.resCreateRole, s.createRole),
		api.Define(row("GetRole", accessRead), s.resRolePlain, s.getRole),
		api.Define(row("ListRoles", accessList), star[listInput], s.listRoles),
		api.Define(row("UpdateRole", accessWrite), s.resUpdateRole, s.updateRole),
		api.Define(row("UpdateRoleDescription", accessWrite), s.resUpdateRoleDescription, s.updateRoleDescription),
		api.Define(row("UpdateAssumeRolePolicy", accessPerms), s.resAssumeRolePolicy, s.updateAssumeRolePolicy),
		api.Define(row("DeleteRole", accessWrite), s.resRolePlain, s.deleteRole),
		api.Define(row("TagRole", accessTagging, tagKeys...), s.resTagRole, s.tagRole),
		api.Define(row("UntagRole", accessTagging, untagKeys...), s.resUntagRole, s.untagRole),
		api.Define(row("ListRoleTags", accessList), s.resRolePage, s.listRoleTags),
		api.Define(row("PutRolePermissionsBoundary", accessPerms, boundaryOnly...), s.resRoleBoundary, s.putRoleBoundary),
		api.Define(row("DeleteRolePermissionsBoundary", accessPerms, boundaryOnly...), s.resRole, s.deleteRoleBoundary),

		// Managed policies.
		api.Define(row("CreatePolicy", accessPerms, tagKeys...), s.resCreatePolicy, s.createPolicy),
		api.Define(row("GetPolicy", accessRead), resPolicy[policyARNInput], s.getPolicy),
		api.Define(row("ListPolicies", accessList), star[listPoliciesInput], s.listPolicies),
		api.Define(row("DeletePolicy", accessPerms), resPolicy[policyARNInput], s.deletePolicy),
		api.Define(row("CreatePolicyVersion", accessPerms), resPolicy[createPolicyVersionInput], s.createPolicyVersion),
		api.Define(row("GetPolicyVersion", accessRead), resPolicy[policyVersionInput], s.getPolicyVersion),
		api.Define(row("ListPolicyVersions", accessList), resPolicy[policyPageInput], s.listPolicyVersions),
		api.Define(row("SetDefaultPolicyVersion", accessPerms), resPolicy[policyVersionInput], s.setDefaultPolicyVersion),
		api.Define(row("DeletePolicyVersion", accessPerms), resPolicy[policyVersionInput], s.deletePolicyVersion),
		api.Define(row("TagPolicy", accessTagging, tagKeys...), resPolicy[tagPolicyInput], s.tagPolicy),
		api.Define(row("UntagPolicy", accessTagging, untagKeys...), resPolicy[untagPolicyInput], s.untagPolicy),
		api.Define(row("ListPolicyTags", accessList), resPolicy[policyPageInput], s.listPolicyTags),
		api.Define(row("ListEntitiesForPolicy", accessList), resPolicy[listEntitiesInput], s.listEntitiesForPolicy),

		// Attached managed policies.
		api.Define(row("AttachUserPolicy", accessPerms, policyAndBound...), resEntity[userT, attachInput[userT]](s), attachPolicy[userT](s)),
		api.Define(row("DetachUserPolicy", accessPerms, policyAndBound...), resEntity[userT, attachInput[userT]](s), detachPolicy[userT](s)),
		api.Define(row("ListAttachedUserPolicies", accessList), resEntity[userT, entityPageInput[userT]](s), listAttached[userT](s)),
		api.Define(row("AttachGroupPolicy", accessPerms, policyARNOnly...), resEntity[groupT, attachInput[groupT]](s), attachPolicy[groupT](s)),
		api.Define(row("DetachGroupPolicy", accessPerms, policyARNOnly...), resEntity[groupT, attachInput[groupT]](s), detachPolicy[groupT](s)),
		api.Define(row("ListAttachedGroupPolicies", accessList), resEntity[groupT, entityPageInput[groupT]](s), listAttached[groupT](s)),
		api.Define(row("AttachRolePolicy", accessPerms, policyAndBound...), resEntity[roleT, attachInput[roleT]](s), attachPolicy[roleT](s)),
		api.Define(row("DetachRolePolicy", accessPerms, policyAndBound...), resEntity[roleT, attachInput[roleT]](s), detachPolicy[roleT](s)),
		api.Define(row("ListAttachedRolePolicies", accessList), resEntity[roleT, entityPageInput[roleT]](s), listAttached[roleT](s)),

		// Inline policies.
		api.Define(row("PutUserPolicy", accessPerms, boundaryOnly...), resEntity[userT, putInlineInput[userT]](s), putInline[userT](s)),
		api.Define(row("GetUserPolicy", accessRead), resEntity[userT, inlineInput[userT]](s), getInline[userT](s)),
		api.Define(row("ListUserPolicies", accessList), resEntity[userT, inlineListInput[userT]](s), listInline[userT](s)),
		api.Define(row("DeleteUserPolicy", accessPerms, boundaryOnly...), resEntity[userT, inlineInput[userT]](s), deleteInline[userT](s)),
		api.Define(row("PutGroupPolicy", accessPerms), resEntity[groupT, putInlineInput[groupT]](s), putInline[groupT](s)),
		api.Define(row("GetGroupPolicy", accessRead), resEntity[groupT, inlineInput[groupT]](s), getInline[groupT](s)),
		api.Define(row("ListGroupPolicies", accessList), resEntity[groupT, inlineListInput[groupT]](s), listInline[groupT](s)),
		api.Define(row("DeleteGroupPolicy", accessPerms), resEntity[groupT, inlineInput[groupT]](s), deleteInline[groupT](s)),
		api.Define(row("PutRolePolicy", accessPerms, boundaryOnly...), resEntity[roleT, putInlineInput[roleT]](s), putInline[roleT](s)),
		api.Define(row("GetRolePolicy", accessRead), resEntity[roleT, inlineInput[roleT]](s), getInline[roleT](s)),
		api.Define(row("ListRolePolicies", accessList), resEntity[roleT, inlineListInput[roleT]](s), listInline[roleT](s)),
		api.Define(row("DeleteRolePolicy", accessPerms, boundaryOnly...), resEntity[roleT, inlineInput[roleT]](s), deleteInline[roleT](s)),

		// Access keys.
		api.Define(row("CreateAccessKey", accessWrite), s.resKeyUser, s.createAccessKey),
		api.Define(row("ListAccessKeys", accessList), s.resListKeys, s.listAccessKeys),
		api.Define(row("UpdateAccessKey", accessWrite), s.resUpdateKey, s.updateAccessKey),
		api.Define(row("DeleteAccessKey", accessWrite), s.resDeleteKey, s.deleteAccessKey),
		api.Define(row("GetAccessKeyLastUsed", accessRead), s.resKeyLastUsed, s.getAccessKeyLastUsed),

		// The whole account.
		api.Define(row("GetAccountAuthorizationDetails", accessRead), star[accountDetailsInput], s.getAccountAuthorizationDetails),

		// OpenID Connect providers.
		api.Define(row("CreateOpenIDConnectProvider", accessWrite, tagKeys...), s.resCreateOIDC, s.createOIDCProvider),
		api.Define(row("GetOpenIDConnectProvider", accessRead), resOIDC[oidcARNInput], s.getOIDCProvider),
		api.Define(row("ListOpenIDConnectProviders", accessList), star[noInput], s.listOIDCProviders),
		api.Define(row("DeleteOpenIDConnectProvider", accessWrite), resOIDC[oidcARNInput], s.deleteOIDCProvider),
		api.Define(row("UpdateOpenIDConnectProviderThumbprint", accessWrite), resOIDC[oidcThumbprintInput], s.updateOIDCThumbprint),
		api.Define(row("AddClientIDToOpenIDConnectProvider", accessWrite), resOIDC[oidcClientIDInput], s.addOIDCClientID),
		api.Define(row("RemoveClientIDFromOpenIDConnectProvider", accessWrite), resOIDC[oidcClientIDInput], s.removeOIDCClientID),
		api.Define(row("TagOpenIDConnectProvider", accessTagging, tagKeys...), resOIDC[tagOIDCInput], s.tagOIDCProvider),
		api.Define(row("UntagOpenIDConnectProvider", accessTagging, untagKeys...), resOIDC[untagOIDCInput], s.untagOIDCProvider),
		api.Define(row("ListOpenIDConnectProviderTags", accessList), resOIDC[oidcPageInput], s.listOIDCProviderTags),
	}
}

// lookupContext bounds the store reads the resource functions make (they
// run before authorisation, without the request's context).
func lookupContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), lookupTimeout)
}

func (s *service) now() time.Time { return s.cfg.Now().UTC() }
