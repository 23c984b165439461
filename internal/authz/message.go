package authz

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// The encoded authorization failure message: the details of a denial,
// sealed so only a principal allowed sts:DecodeAuthorizationMessage can read
// them (the request context may hold information the caller should not
// see). Its decoded shape follows AWS's DecodeAuthorizationMessage output.

// Sealer seals and opens values (the keyring).
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

var messageAAD = []byte("bulwark/authorization-message")

// maxEncodedMessage bounds DecodeAuthorizationMessage input (AWS: 10,240).
const maxEncodedMessage = 10240

type failureStatement struct {
	StatementID      string `json:"statementId,omitempty"`
	SourcePolicyID   string `json:"sourcePolicyId,omitempty"`
	SourcePolicyType string `json:"sourcePolicyType"`
}

type failureMessage struct {
	Allowed           bool `json:"allowed"`
	ExplicitDeny      bool `json:"explicitDeny"`
	MatchedStatements struct {
		Items []failureStatement `json:"items"`
	} `json:"matchedStatements"`
	Failures struct {
		Items []string `json:"items"`
	} `json:"failures"`
	Context struct {
		Principal struct {
			ID  string `json:"id"`
			ARN string `json:"arn"`
		} `json:"principal"`
		Action     string `json:"action"`
		Resource   string `json:"resource"`
		Conditions struct {
			Items []condition `json:"items"`
		} `json:"conditions"`
	} `json:"context"`
}

type condition struct {
	Key    string `json:"key"`
	Values struct {
		Items []struct {
			Value string `json:"value"`
		} `json:"items"`
	} `json:"values"`
}

// EncodeFailure seals the details of a denied request.
func EncodeFailure(s Sealer, req *Request, d Decision) (string, error) {
	var m failureMessage
	c := req.Call
	m.Context.Principal.ID, m.Context.Principal.ARN = c.Principal.UserID, c.Principal.ARN
	m.Context.Action, m.Context.Resource = req.Action.IAMAction, d.Resource
	if d.Policy != nil {
		for _, st := range d.Policy.Statements() {
			m.MatchedStatements.Items = append(m.MatchedStatements.Items, failureStatement{
				StatementID: st.Sid(), SourcePolicyID: st.PolicyID(), SourcePolicyType: st.PolicyType().String()})
		}
		m.ExplicitDeny = d.Reason == ExplicitDenyIdentity || d.Reason == ExplicitDenyResource
		m.Failures.Items = d.Policy.MissingKeys()
	}
	for k, vs := range req.Context {
		cd := condition{Key: k}
		for _, v := range vs {
			cd.Values.Items = append(cd.Values.Items, struct {
				Value string `json:"value"`
			}{v})
		}
		m.Context.Conditions.Items = append(m.Context.Conditions.Items, cd)
	}
	b, err := json.Marshal(&m)
	if err != nil {
		return "", fmt.Errorf("encode authorization message: %w", err)
	}
	sealed, err := s.Seal(b, messageAAD)
	if err != nil {
		return "", fmt.Errorf("seal authorization message: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// ErrBadMessage means an encoded message is malformed or was not made here.
var ErrBadMessage = errors.New("authz: invalid encoded authorization message")

// DecodeFailure opens an encoded message and returns its JSON.
func DecodeFailure(s Sealer, encoded string) (string, error) {
	encoded = strings.TrimSpace(encoded)
	if len(encoded) > maxEncodedMessage {
		return "", ErrBadMessage
	}
	sealed, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil {
		return "", ErrBadMessage
	}
	b, err := s.Open(sealed, messageAAD)
	if err != nil {
		return "", ErrBadMessage
	}
	return string(b), nil
}

// DeniedWithMessage is Denied plus AWS's "Encoded authorization failure
// message" suffix, when a sealer is available.
func DeniedWithMessage(s Sealer, req *Request, d Decision) error {
	e := Denied(req.Call, d)
	if s == nil {
		return e
	}
	msg, err := EncodeFailure(s, req, d)
	if err != nil {
		return e.WithCause(err)
	}
	e.Message += ". Encoded authorization failure message: " + msg
	return e
}
