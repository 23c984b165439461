package audit

import (
	"strconv"
	"strings"

	"github.com/bulwark-security/bulwark/internal/api"
)

// IdentityOf is the userIdentity element for an authenticated principal:
// for temporary credentials it carries the session context (creation
// date, MFA) and, for a role session, the role that issued it.
func IdentityOf(p *api.Principal) UserIdentity {
	id := UserIdentity{Type: p.Type, PrincipalID: safeString(p.UserID), ARN: safeString(p.ARN),
		AccountID: p.AccountID, AccessKeyID: p.AccessKeyID}
	if p.Type != "AssumedRole" {
		id.UserName = safeString(p.UserName)
	}
	if !p.Temporary {
		return id
	}
	sc := &SessionContext{Attributes: SessionAttributes{MFAAuthenticated: strconv.FormatBool(p.MFAPresent)},
		SourceIdentity: safeString(p.SourceIdentity)}
	if !p.IssuedAt.IsZero() {
		sc.Attributes.CreationDate = p.IssuedAt.UTC().Format(TimeFormat)
	}
	if p.RoleARN != "" {
		roleID, _, _ := strings.Cut(p.UserID, ":")
		sc.SessionIssuer = &SessionIssuer{Type: "Role", PrincipalID: safeString(roleID), ARN: safeString(p.RoleARN),
			AccountID: p.AccountID, UserName: safeString(p.RoleName)}
	}
	id.SessionContext = sc
	return id
}

// resourceTypes maps "<service>:<resource type>" of an ARN to the
// CloudFormation-style type CloudTrail reports.
var resourceTypes = map[string]string{
	"iam:role":                  "AWS::IAM::Role",
	"iam:user":                  "AWS::IAM::User",
	"iam:group":                 "AWS::IAM::Group",
	"iam:policy":                "AWS::IAM::Policy",
	"iam:oidc-provider":         "AWS::IAM::OIDCProvider",
	"iam:instance-profile":      "AWS::IAM::InstanceProfile",
	"sts:assumed-role":          "AWS::STS::AssumedRole",
	"secretsmanager:secret":     "AWS::SecretsManager::Secret",
	"kms:key":                   "AWS::KMS::Key",
	"kms:alias":                 "AWS::KMS::Alias",
	"sns:":                      "AWS::SNS::Topic",
	"securityhub:hub":           "AWS::SecurityHub::Hub",
	"securityhub:product":       "AWS::SecurityHub::Product",
	"cloudtrail:trail":          "AWS::CloudTrail::Trail",
	"cloudtrail:eventdatastore": "AWS::CloudTrail::EventDataStore",
}

// maxResources bounds the resources one record lists.
const maxResources = 20

// ResourcesOf is the resources element for the ARNs a call touched;
// wildcards ("*") and strings that are not ARNs are left out.
func ResourcesOf(arns []string) []Resource {
	var out []Resource
	for _, a := range arns {
		if len(out) == maxResources {
			break
		}
		typ, account, ok := ResourceType(a)
		if !ok {
			continue
		}
		out = append(out, Resource{ARN: safeString(a), AccountID: account, Type: typ})
	}
	return out
}

// ResourceType is the CloudTrail resource type of an ARN and its account.
func ResourceType(a string) (typ, account string, ok bool) {
	parts := strings.SplitN(a, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] == "" || strings.Contains(a, "*") || len(a) > 2048 {
		return "", "", false
	}
	svc, res := parts[2], parts[5]
	rtype := res
	if i := strings.IndexAny(res, "/:"); i >= 0 {
		rtype = res[:i]
	} else if svc == "sns" {
		rtype = ""
	}
	if t, ok := resourceTypes[svc+":"+rtype]; ok {
		return t, parts[4], true
	}
	return "AWS::" + title(svc) + "::" + title(rtype), parts[4], true
}

func title(s string) string {
	var b strings.Builder
	up := true
	for _, r := range s {
		if r == '-' || r == '_' {
			up = true
			continue
		}
		if up {
			b.WriteString(strings.ToUpper(string(r)))
			up = false
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}
