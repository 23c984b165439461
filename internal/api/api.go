// Package api is the contract between the server and the AWS-compatible
// services: each service declares its actions in one static table (name, IAM
// action, access level, resources, condition keys, handler) and the server
// walks that table. Adding an action therefore never touches authentication,
// authorisation or audit code, and the analyzer reads the same tables.
package api

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"time"

	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/policy"
)

// Protocol is the wire protocol a service speaks.
type Protocol int

const (
	// Query is form-encoded requests and XML responses (IAM, STS, SNS).
	Query Protocol = iota + 1
	// JSON is the JSON 1.1 protocol with X-Amz-Target (Secrets Manager, KMS).
	JSON
	// RESTJSON is the REST-JSON protocol: each action has its own HTTP
	// method and path, JSON bodies in and out (Security Hub). Only literal
	// paths are supported (no {label} segments or query-string members).
	RESTJSON
)

// Access is an action's access level as the AWS Service Authorization
// Reference lists it.
type Access string

const (
	AccessRead        Access = "Read"
	AccessList        Access = "List"
	AccessWrite       Access = "Write"
	AccessTagging     Access = "Tagging"
	AccessPermissions Access = "Permissions management"
)

// ReadOnly reports whether the level only reads state (CloudTrail's readOnly).
func (a Access) ReadOnly() bool { return a == AccessRead || a == AccessList }

// Service is one AWS-compatible service and its action table.
type Service struct {
	// SigningName is the service name in the SigV4 credential scope ("sts").
	SigningName string
	// EventSource is the CloudTrail event source ("sts.amazonaws.com").
	EventSource string
	Protocol    Protocol
	// Version is the query protocol's API version ("2011-06-15").
	Version string
	// XMLNamespace is the query protocol's response namespace.
	XMLNamespace string
	// TargetPrefix is the JSON protocol's X-Amz-Target prefix ("secretsmanager").
	TargetPrefix string
	// Global services (IAM) are signed for us-east-1 whatever the region.
	Global bool
	// AccessDeniedCode is the code this service uses for a denied call:
	// "AccessDenied" (403) for the query services, "AccessDeniedException"
	// (400) for Secrets Manager and KMS.
	AccessDeniedCode   string
	AccessDeniedStatus int
	Actions            []Action

	byName  map[string]*Action
	byRoute map[string]*Action
}

// Action is one row of a service's action table. Build rows with Define.
type Action struct {
	// Name is the API operation name ("GetCallerIdentity").
	Name string
	// IAMAction is what policies name ("sts:GetCallerIdentity").
	IAMAction string
	Access    Access
	// ConditionKeys are the service-specific keys this action supplies to
	// policy evaluation (the global aws:* keys are always supplied).
	ConditionKeys []string
	// AlwaysAllowed marks the few actions AWS answers without any
	// permission, such as sts:GetCallerIdentity ("No permissions are required
	// to perform this operation", STS API reference). They are still
	// authenticated and audited.
	AlwaysAllowed bool
	// Unauthenticated marks actions whose request proves itself (a web
	// identity token) and so carries no SigV4 signature, as AWS documents
	// for sts:AssumeRoleWithWebIdentity. The server runs such an action
	// without a signature and without asking the authorizer; the handler
	// verifies the proof and authorises the call itself.
	Unauthenticated bool
	// HTTPMethod and HTTPPath route a REST-JSON action ("POST",
	// "/findings"); other protocols leave them empty.
	HTTPMethod string
	HTTPPath   string
	// ResourcePolicy, if set, loads the resource-based policy of the
	// action's (single) resource, evaluated together with the caller's
	// identity policies: a role's trust policy for sts:AssumeRole, a
	// secret's resource policy, a KMS key policy. A nil policy means none.
	ResourcePolicy func(ctx context.Context, c *Call, resource string) (*policy.Policy, error)
	// RequireResourceAllow makes the resource policy's allow necessary even
	// within one account (role trust policies, KMS key policies).
	RequireResourceAllow bool
	// AuditHidden names extra input or output fields (any case, at any
	// depth) whose values the audit trail must hide, beyond the AWS field
	// names it always hides (passwords, secret values, plaintext, tokens).
	AuditHidden []string

	bind func(c *Call) (*Op, error)
}

// Op is an action bound to one request's decoded input: the resources it
// touches (what authorisation checks) and the function that performs it.
type Op struct {
	Resources []string
	// Context holds the request-specific condition keys (for example
	// aws:RequestTag/...) the action supplies, in addition to the global ones.
	Context map[string][]string
	Run     func(ctx context.Context) (any, error)
	// Input is the decoded input, for the audit record (which redacts it).
	Input any
}

// Bind decodes the call's input and returns the operation to authorise and run.
func (a *Action) Bind(c *Call) (*Op, error) { return a.bind(c) }

// Principal is the authenticated caller.
type Principal struct {
	// Type is CloudTrail's userIdentity.type: "Root", "IAMUser", "AssumedRole".
	Type      string
	ARN       string
	AccountID string
	// UserID is AWS's unique id: the account id for root, "AIDA..." for a
	// user, "AROA...:session" for an assumed role.
	UserID      string
	UserName    string
	AccessKeyID string
	// Temporary is true for STS session credentials; the fields below
	// describe the session and are zero for long-term keys.
	Temporary bool
	// RoleName/RoleARN name the assumed role; for GetSessionToken sessions
	// they are empty and ARN is the IAM user's (or root's) own.
	RoleName string
	RoleARN  string
	// SessionName is the role session name.
	SessionName string
	IssuedAt    time.Time
	Expiration  time.Time
	// SessionPolicy (JSON) and SessionPolicyARNs are the session policies
	// passed to AssumeRole; they intersect with the role's permissions.
	SessionPolicy     string
	SessionPolicyARNs []string
	// Tags are the session tags (aws:PrincipalTag for a session).
	Tags              []Tag
	TransitiveTagKeys []string
	SourceIdentity    string
	MFAPresent        bool
	// Chained is true when the session was made by a role session assuming
	// another role (role chaining: at most one hour).
	Chained bool
}

// PrincipalTypeWebIdentity is the Principal.Type of an unsigned call to an
// Unauthenticated action (CloudTrail's "WebIdentityUser"); the handler
// fills in who the token names once it has verified it.
const PrincipalTypeWebIdentity = "WebIdentityUser"

// Tag is a key/value tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// IsRoot reports whether the caller is the account's root principal.
func (p *Principal) IsRoot() bool { return p != nil && p.Type == "Root" }

// Call is one authenticated API request as the handlers see it.
type Call struct {
	RequestID       string
	Service         *Service
	Action          *Action
	Principal       *Principal
	Region          string
	SourceIP        netip.Addr
	UserAgent       string
	SecureTransport bool
	Time            time.Time
	// Params is the query protocol's input (without Action and Version).
	Params url.Values
	// Body is the JSON protocol's raw input.
	Body []byte
}

// QueryInput is implemented by query-protocol inputs; it decodes and
// validates the form parameters by hand (no reflection on the security path).
type QueryInput interface {
	DecodeQuery(url.Values) error
}

// ContextProvider is implemented by inputs that supply request-specific
// condition keys (aws:RequestTag/..., aws:TagKeys, iam:PermissionsBoundary,
// iam:PolicyARN, ...) to policy evaluation. Keys are as policies spell them;
// values are all the values of a multi-valued key.
type ContextProvider interface {
	RequestContext(c *Call) map[string][]string
}

// Validator is implemented by inputs with rules beyond their types.
type Validator interface {
	Validate() error
}

// Handler performs an action for decoded input In. It returns the result to
// encode (an XML-tagged struct for query services, a JSON-tagged one for JSON
// services) or an error; *awsproto.Error values reach the client, anything
// else is logged and answered with InternalFailure.
type Handler[In any] func(ctx context.Context, c *Call, in *In) (any, error)

// Resources names the ARNs an action touches for decoded input In.
type Resources[In any] func(c *Call, in *In) []string

// Define builds a table row for an action with typed input In: the server
// decodes In (JSON body, or In's DecodeQuery for the query protocol), runs
// Validate if In has it, asks resources for the ARNs to authorise, and runs
// handle only if authorisation allows.
func Define[In any](row Action, resources Resources[In], handle Handler[In]) Action {
	row.bind = func(c *Call) (*Op, error) {
		in := new(In)
		switch c.Service.Protocol {
		case JSON, RESTJSON:
			if err := awsproto.DecodeJSON(c.Body, in); err != nil {
				return nil, err
			}
		case Query:
			if qi, ok := any(in).(QueryInput); ok {
				if err := qi.DecodeQuery(c.Params); err != nil {
					return nil, err
				}
			}
		}
		if v, ok := any(in).(Validator); ok {
			if err := v.Validate(); err != nil {
				return nil, err
			}
		}
		op := &Op{Resources: resources(c, in), Input: in}
		if cp, ok := any(in).(ContextProvider); ok {
			op.Context = cp.RequestContext(c)
		}
		op.Run = func(ctx context.Context) (any, error) { return handle(ctx, c, in) }
		return op, nil
	}
	return row
}

var (
	actionNameRE = regexp.MustCompile(`^[A-Z][A-Za-z0-9]{1,127}$`)
	iamActionRE  = regexp.MustCompile(`^[a-z0-9-]+:[A-Z][A-Za-z0-9]+$`)
	httpMethodRE = regexp.MustCompile(`^(GET|POST|PUT|PATCH|DELETE)$`)
	httpPathRE   = regexp.MustCompile(`^(/[A-Za-z0-9._-]+)+$`)
)

// Registry is the set of services one server answers, looked up by SigV4
// signing name.
type Registry struct {
	bySigningName map[string]*Service
	services      []*Service
}

// NewRegistry checks every table and indexes it. It refuses duplicate
// services or actions and incomplete rows, so a mistake in a table stops the
// server at start-up instead of opening a hole.
func NewRegistry(services ...*Service) (*Registry, error) {
	r := &Registry{bySigningName: make(map[string]*Service)}
	var errs []error
	for _, s := range services {
		if err := s.index(); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := r.bySigningName[s.SigningName]; dup {
			errs = append(errs, fmt.Errorf("service %q registered twice", s.SigningName))
			continue
		}
		r.bySigningName[s.SigningName] = s
		r.services = append(r.services, s)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

// Service returns the service with a SigV4 signing name, or nil.
func (r *Registry) Service(signingName string) *Service { return r.bySigningName[signingName] }

// Services returns the registered services in registration order.
func (r *Registry) Services() []*Service { return r.services }

// Action returns the action with an operation name, or nil.
func (s *Service) Action(name string) *Action { return s.byName[name] }

// Route returns the REST-JSON action for an HTTP method and path, or nil.
func (s *Service) Route(method, path string) *Action { return s.byRoute[method+" "+path] }

func (s *Service) index() error {
	if s.SigningName == "" || s.EventSource == "" || s.AccessDeniedCode == "" || s.AccessDeniedStatus == 0 {
		return fmt.Errorf("service %q: SigningName, EventSource and AccessDenied code/status are required", s.SigningName)
	}
	switch s.Protocol {
	case Query:
		if s.Version == "" || s.XMLNamespace == "" {
			return fmt.Errorf("service %q: query protocol needs Version and XMLNamespace", s.SigningName)
		}
	case JSON:
		if s.TargetPrefix == "" {
			return fmt.Errorf("service %q: JSON protocol needs TargetPrefix", s.SigningName)
		}
	case RESTJSON:
	default:
		return fmt.Errorf("service %q: unknown protocol %d", s.SigningName, s.Protocol)
	}
	s.byName = make(map[string]*Action, len(s.Actions))
	s.byRoute = make(map[string]*Action)
	var errs []error
	for i := range s.Actions {
		a := &s.Actions[i]
		switch {
		case !actionNameRE.MatchString(a.Name):
			errs = append(errs, fmt.Errorf("service %q action #%d: bad name %q", s.SigningName, i, a.Name))
		case !iamActionRE.MatchString(a.IAMAction):
			errs = append(errs, fmt.Errorf("service %q action %s: bad IAM action %q", s.SigningName, a.Name, a.IAMAction))
		case a.Access == "":
			errs = append(errs, fmt.Errorf("service %q action %s: access level missing", s.SigningName, a.Name))
		case a.bind == nil:
			errs = append(errs, fmt.Errorf("service %q action %s: not built with api.Define", s.SigningName, a.Name))
		case s.byName[a.Name] != nil:
			errs = append(errs, fmt.Errorf("service %q: action %s declared twice", s.SigningName, a.Name))
		case (s.Protocol == RESTJSON) != (a.HTTPMethod != "" && a.HTTPPath != ""):
			errs = append(errs, fmt.Errorf("service %q action %s: HTTPMethod and HTTPPath are required for REST-JSON and only there", s.SigningName, a.Name))
		case s.Protocol == RESTJSON && (!httpMethodRE.MatchString(a.HTTPMethod) || !httpPathRE.MatchString(a.HTTPPath)):
			errs = append(errs, fmt.Errorf("service %q action %s: bad route %s %s", s.SigningName, a.Name, a.HTTPMethod, a.HTTPPath))
		case s.byRoute[a.HTTPMethod+" "+a.HTTPPath] != nil:
			errs = append(errs, fmt.Errorf("service %q action %s: route %s %s declared twice", s.SigningName, a.Name, a.HTTPMethod, a.HTTPPath))
		default:
			s.byName[a.Name] = a
			if s.Protocol == RESTJSON {
				s.byRoute[a.HTTPMethod+" "+a.HTTPPath] = a
			}
		}
	}
	return errors.Join(errs...)
}
