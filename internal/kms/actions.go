package kms

import (
	"github.com/bulwark-security/bulwark/internal/api"
)

// Condition keys every action on a key supplies (KMS Developer Guide,
// "AWS KMS condition keys").
var keyConditionKeys = []string{
	"kms:CallerAccount", "kms:KeySpec", "kms:KeyUsage", "kms:KeyOrigin", "kms:KeyManager",
	"kms:RequestAlias", "kms:ResourceAliases", "kms:ViaService", "aws:ResourceTag/${TagKey}",
}

var encryptionContextConditionKeys = []string{"kms:EncryptionContext:${EncryptionContextKey}", "kms:EncryptionContextKeys"}

func withKeys(extra ...string) []string {
	return append(append([]string(nil), keyConditionKeys...), extra...)
}

// auditHidden keeps blobs, messages and MACs out of the audit trail, as
// CloudTrail does (plaintext and private keys are always hidden).
var auditHidden = []string{"CiphertextBlob", "PrivateKeyCiphertextBlob", "Message", "Mac"}

func anyResource[In any](*api.Call, *In) []string { return []string{"*"} }

// actions is the KMS action table. Actions on a key name its ARN as the
// resource and load its key policy (with grants) as the resource policy,
// which must allow (RequireResourceAllow) as in AWS.
func (k *Keys) actions() []api.Action {
	key := func(name string, access api.Access, keys ...string) api.Action {
		return api.Action{Name: name, IAMAction: "kms:" + name, Access: access, ConditionKeys: withKeys(keys...),
			ResourcePolicy: k.keyPolicy, RequireResourceAllow: true, AuditHidden: auditHidden}
	}
	ec := encryptionContextConditionKeys
	return []api.Action{
		api.Define(api.Action{Name: "CreateKey", IAMAction: "kms:CreateKey", Access: api.AccessWrite,
			ConditionKeys: []string{"kms:CallerAccount", "kms:KeySpec", "kms:KeyUsage", "kms:KeyOrigin", "kms:MultiRegion",
				"kms:ViaService", "aws:RequestTag/${TagKey}", "aws:TagKeys"}},
			anyResource[createKeyInput], k.createKey),
		api.Define(key("DescribeKey", api.AccessRead), keyResources[describeKeyInput](k), k.describeKey),
		api.Define(api.Action{Name: "ListKeys", IAMAction: "kms:ListKeys", Access: api.AccessList},
			anyResource[listKeysInput], k.listKeys),
		api.Define(key("EnableKey", api.AccessWrite), keyResources[keyInput](k), k.enableKey),
		api.Define(key("DisableKey", api.AccessWrite), keyResources[keyInput](k), k.disableKey),
		api.Define(key("ScheduleKeyDeletion", api.AccessWrite, "kms:ScheduleKeyDeletionPendingWindowInDays"),
			keyResources[scheduleKeyDeletionInput](k), k.scheduleKeyDeletion),
		api.Define(key("CancelKeyDeletion", api.AccessWrite), keyResources[keyInput](k), k.cancelKeyDeletion),
		api.Define(key("UpdateKeyDescription", api.AccessWrite), keyResources[updateKeyDescriptionInput](k), k.updateKeyDescription),

		api.Define(key("CreateAlias", api.AccessWrite), keyResources[aliasTarget](k), k.createAlias),
		api.Define(key("UpdateAlias", api.AccessWrite), keyResources[aliasTarget](k), k.updateAlias),
		api.Define(key("DeleteAlias", api.AccessWrite), keyResources[deleteAliasInput](k), k.deleteAlias),
		api.Define(api.Action{Name: "ListAliases", IAMAction: "kms:ListAliases", Access: api.AccessList},
			anyResource[listAliasesInput], k.listAliases),

		api.Define(key("TagResource", api.AccessTagging, "aws:RequestTag/${TagKey}", "aws:TagKeys"),
			keyResources[tagResourceInput](k), k.tagResource),
		api.Define(key("UntagResource", api.AccessTagging, "aws:TagKeys"), keyResources[untagResourceInput](k), k.untagResource),
		api.Define(key("ListResourceTags", api.AccessRead), keyResources[listResourceTagsInput](k), k.listResourceTags),

		api.Define(key("Encrypt", api.AccessWrite, append(ec, "kms:EncryptionAlgorithm")...), keyResources[encryptInput](k), k.encryptAction),
		api.Define(key("Decrypt", api.AccessWrite, append(ec, "kms:EncryptionAlgorithm")...), keyResources[decryptInput](k), k.decryptAction),
		api.Define(api.Action{Name: "ReEncrypt", IAMAction: "kms:ReEncryptFrom", Access: api.AccessWrite,
			ConditionKeys: withKeys(append(ec, "kms:ReEncryptOnSameKey")...), ResourcePolicy: k.keyPolicy, RequireResourceAllow: true,
			AuditHidden: auditHidden},
			keyResources[reEncryptInput](k), k.reEncrypt),
		api.Define(key("GenerateDataKey", api.AccessWrite, ec...), keyResources[generateDataKeyInput](k), k.generateDataKey),
		api.Define(key("GenerateDataKeyWithoutPlaintext", api.AccessWrite, ec...), keyResources[generateDataKeyInput](k), k.generateDataKeyWithoutPlaintext),
		api.Define(key("GenerateDataKeyPair", api.AccessWrite, append(ec, "kms:DataKeyPairSpec")...),
			keyResources[generateDataKeyPairInput](k), k.generateDataKeyPair),
		api.Define(key("GenerateDataKeyPairWithoutPlaintext", api.AccessWrite, append(ec, "kms:DataKeyPairSpec")...),
			keyResources[generateDataKeyPairInput](k), k.generateDataKeyPairWithoutPlaintext),
		api.Define(api.Action{Name: "GenerateRandom", IAMAction: "kms:GenerateRandom", Access: api.AccessWrite},
			anyResource[generateRandomInput], k.generateRandom),
		api.Define(key("Sign", api.AccessWrite, "kms:SigningAlgorithm", "kms:MessageType"), keyResources[signInput](k), k.sign),
		api.Define(key("Verify", api.AccessWrite, "kms:SigningAlgorithm", "kms:MessageType"), keyResources[verifyInput](k), k.verify),
		api.Define(key("GetPublicKey", api.AccessRead), keyResources[getPublicKeyInput](k), k.getPublicKey),
		api.Define(key("GenerateMac", api.AccessWrite, "kms:MacAlgorithm"), keyResources[generateMacInput](k), k.generateMac),
		api.Define(key("VerifyMac", api.AccessWrite, "kms:MacAlgorithm"), keyResources[verifyMacInput](k), k.verifyMac),

		api.Define(key("EnableKeyRotation", api.AccessWrite, "kms:RotationPeriodInDays"), keyResources[enableKeyRotationInput](k), k.enableKeyRotation),
		api.Define(key("DisableKeyRotation", api.AccessWrite), keyResources[keyInput](k), k.disableKeyRotation),
		api.Define(key("GetKeyRotationStatus", api.AccessRead), keyResources[keyInput](k), k.getKeyRotationStatus),
		api.Define(key("RotateKeyOnDemand", api.AccessWrite), keyResources[keyInput](k), k.rotateKeyOnDemand),
		api.Define(key("ListKeyRotations", api.AccessList), keyResources[listKeyRotationsInput](k), k.listKeyRotations),

		api.Define(key("GetKeyPolicy", api.AccessRead), keyResources[getKeyPolicyInput](k), k.getKeyPolicy),
		api.Define(key("PutKeyPolicy", api.AccessPermissions), keyResources[putKeyPolicyInput](k), k.putKeyPolicy),
		api.Define(key("ListKeyPolicies", api.AccessList), keyResources[listKeyPoliciesInput](k), k.listKeyPolicies),

		api.Define(key("CreateGrant", api.AccessPermissions, append(ec, "kms:GrantOperations", "kms:GranteePrincipal",
			"kms:RetiringPrincipal", "kms:GrantConstraintType", "kms:GrantIsForAWSResource")...),
			keyResources[createGrantInput](k), k.createGrant),
		api.Define(key("ListGrants", api.AccessList, "kms:GrantIsForAWSResource"), keyResources[listGrantsInput](k), k.listGrants),
		api.Define(key("RevokeGrant", api.AccessPermissions, "kms:GrantIsForAWSResource"), keyResources[revokeGrantInput](k), k.revokeGrant),
		api.Define(api.Action{Name: "ListRetirableGrants", IAMAction: "kms:ListRetirableGrants", Access: api.AccessList},
			anyResource[listRetirableGrantsInput], k.listRetirableGrants),
		// RetireGrant's grantee and retiring principal need no policy, so
		// the handler decides (retireGrant); everyone else needs
		// kms:RetireGrant on the key, which the handler checks.
		api.Define(api.Action{Name: "RetireGrant", IAMAction: "kms:RetireGrant", Access: api.AccessPermissions, AlwaysAllowed: true},
			anyResource[retireGrantInput], k.retireGrant),
	}
}
