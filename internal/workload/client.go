package workload

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bulwark-security/bulwark/internal/sigv4"
)

// maxResponseBytes bounds what the clients read from the server.
const maxResponseBytes = 1 << 20

// Credentials are role credentials as the agent holds them (in memory only).
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
	RoleARN         string
}

// LogValue keeps secrets out of logs.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("accessKeyId", c.AccessKeyID), slog.String("roleArn", c.RoleARN),
		slog.Time("expiration", c.Expiration))
}

// APIError is an error answer from the server, with AWS's code.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Message)
}

// Permanent reports whether retrying the same request cannot help: the
// server refused it (4xx) rather than failed (5xx, throttling).
func (e *APIError) Permanent() bool {
	return e.Status >= 400 && e.Status < 500 && e.Code != "Throttling" && e.Code != "ThrottlingException"
}

func doHTTP(hc *http.Client, req *http.Request) ([]byte, int, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("read response: %w", err)
	}
	if len(b) > maxResponseBytes {
		return nil, resp.StatusCode, errors.New("response too large")
	}
	return b, resp.StatusCode, nil
}

// queryError decodes a query-protocol error body.
func queryError(status int, body []byte) error {
	var e struct {
		Error struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Error"`
	}
	if xml.Unmarshal(body, &e) != nil || e.Error.Code == "" {
		return &APIError{Status: status, Code: "Unknown", Message: http.StatusText(status)}
	}
	return &APIError{Status: status, Code: e.Error.Code, Message: e.Error.Message}
}

// jsonError decodes a JSON 1.1 error body.
func jsonError(status int, body []byte) error {
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
		Msg2    string `json:"Message"`
	}
	if json.Unmarshal(body, &e) != nil || e.Type == "" {
		return &APIError{Status: status, Code: "Unknown", Message: http.StatusText(status)}
	}
	code := e.Type[strings.LastIndexByte(e.Type, '#')+1:]
	if e.Message == "" {
		e.Message = e.Msg2
	}
	return &APIError{Status: status, Code: code, Message: e.Message}
}

// AgentClient makes the agent's unsigned calls to the server.
type AgentClient struct {
	// Endpoint is the server's URL (https://bulwark.example:4747).
	Endpoint string
	HTTP     *http.Client
}

func (c *AgentClient) call(ctx context.Context, action string, params url.Values, out any) error {
	params.Set("Action", action)
	params.Set("Version", AgentVersion)
	body := []byte(params.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.Endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	b, status, err := doHTTP(hc, req)
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("%s: %w", action, queryError(status, b))
	}
	if err := xml.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s: decode response: %w", action, err)
	}
	return nil
}

// Attestation is what AttestWorkload returns.
type Attestation struct {
	WorkloadARN string
	RoleARN     string
	AgentToken  Secret
	Expiration  time.Time
}

// Attest exchanges a join token or an OIDC token for an agent token.
// workloadARN is required with an identity token, optional with a join
// token.
func (c *AgentClient) Attest(ctx context.Context, workloadARN string, joinToken, identityToken Secret) (*Attestation, error) {
	v := url.Values{}
	if workloadARN != "" {
		v.Set("WorkloadArn", workloadARN)
	}
	if !joinToken.IsZero() {
		v.Set("JoinToken", joinToken.Reveal())
	}
	if !identityToken.IsZero() {
		v.Set("IdentityToken", identityToken.Reveal())
	}
	var out struct {
		Result struct {
			WorkloadArn          string `xml:"WorkloadArn"`
			RoleArn              string `xml:"RoleArn"`
			AgentToken           string `xml:"AgentToken"`
			AgentTokenExpiration string `xml:"AgentTokenExpiration"`
		} `xml:"AttestWorkloadResult"`
	}
	if err := c.call(ctx, "AttestWorkload", v, &out); err != nil {
		return nil, err
	}
	tok, ok := ParseSecret(agentTokenPrefix, out.Result.AgentToken)
	if !ok {
		return nil, errors.New("AttestWorkload: malformed agent token in response")
	}
	exp, _ := time.Parse(time.RFC3339, out.Result.AgentTokenExpiration)
	return &Attestation{WorkloadARN: out.Result.WorkloadArn, RoleARN: out.Result.RoleArn, AgentToken: tok, Expiration: exp}, nil
}

// Credentials fetches role credentials for an attested workload.
func (c *AgentClient) Credentials(ctx context.Context, agentToken Secret, duration time.Duration) (Credentials, error) {
	v := url.Values{"AgentToken": {agentToken.Reveal()}}
	if duration > 0 {
		v.Set("DurationSeconds", strconv.Itoa(int(duration/time.Second)))
	}
	var out struct {
		Result struct {
			RoleArn     string      `xml:"RoleArn"`
			Credentials credsXMLOut `xml:"Credentials"`
		} `xml:"GetWorkloadCredentialsResult"`
	}
	if err := c.call(ctx, "GetWorkloadCredentials", v, &out); err != nil {
		return Credentials{}, err
	}
	return out.Result.Credentials.toCredentials(out.Result.RoleArn)
}

type credsXMLOut struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

func (x credsXMLOut) toCredentials(role string) (Credentials, error) {
	exp, err := time.Parse(time.RFC3339, x.Expiration)
	if err != nil || x.AccessKeyID == "" || x.SecretAccessKey == "" {
		return Credentials{}, errors.New("incomplete credentials in response")
	}
	return Credentials{AccessKeyID: x.AccessKeyID, SecretAccessKey: x.SecretAccessKey, SessionToken: x.SessionToken, Expiration: exp, RoleARN: role}, nil
}

// StaticCredentials are a caller's own AWS credentials.
type StaticCredentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
}

// SignedClient makes SigV4-signed calls with the caller's credentials: the
// bulwark-workloads API, sts:AssumeRole and iam:PutRolePolicy.
type SignedClient struct {
	Endpoint string
	Region   string
	Creds    StaticCredentials
	HTTP     *http.Client
	Now      func() time.Time
}

func (c *SignedClient) do(ctx context.Context, service, region string, body []byte, header http.Header) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.Endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	if err := sigv4.Sign(req, body, c.Creds.AccessKeyID, []byte(c.Creds.SecretAccessKey), c.Creds.SessionToken, region, service, now()); err != nil {
		return nil, 0, fmt.Errorf("sign request: %w", err)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	return doHTTP(hc, req)
}

// Call invokes a bulwark-workloads operation with JSON input and output.
func (c *SignedClient) Call(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s: encode input: %w", op, err)
	}
	h := http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amz-Target": {TargetPrefix + "." + op}}
	b, status, err := c.do(ctx, SigningName, c.Region, body, h)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("%s: %w", op, jsonError(status, b))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s: decode response: %w", op, err)
	}
	return nil
}

func (c *SignedClient) query(ctx context.Context, service, region string, v url.Values, out any) error {
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}
	b, status, err := c.do(ctx, service, region, []byte(v.Encode()), h)
	if err != nil {
		return fmt.Errorf("%s: %w", v.Get("Action"), err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("%s: %w", v.Get("Action"), queryError(status, b))
	}
	if out != nil {
		if err := xml.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s: decode response: %w", v.Get("Action"), err)
		}
	}
	return nil
}

// AssumeRole calls sts:AssumeRole with the caller's credentials.
func (c *SignedClient) AssumeRole(ctx context.Context, roleARN, sessionName string, duration time.Duration) (Credentials, error) {
	v := url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {roleARN}, "RoleSessionName": {sessionName}}
	if duration > 0 {
		v.Set("DurationSeconds", strconv.Itoa(int(duration/time.Second)))
	}
	var out struct {
		Result struct {
			Credentials credsXMLOut `xml:"Credentials"`
		} `xml:"AssumeRoleResult"`
	}
	if err := c.query(ctx, "sts", c.Region, v, &out); err != nil {
		return Credentials{}, err
	}
	return out.Result.Credentials.toCredentials(roleARN)
}

// RevokeSessionsPolicyName is the inline policy AWS's "Revoke active
// sessions" adds to a role.
const RevokeSessionsPolicyName = "AWSRevokeOlderSessions"

// RevokeSessionsPolicy denies everything to sessions of a role issued
// before t, exactly as the IAM console's "Revoke active sessions" does.
func RevokeSessionsPolicy(t time.Time) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],"Resource":["*"],` +
		`"Condition":{"DateLessThan":{"aws:TokenIssueTime":"` + t.UTC().Format(time.RFC3339) + `"}}}]}`
}

// RevokeRoleSessions puts the AWSRevokeOlderSessions policy on a role (IAM
// is global: signed for us-east-1): every session of the role issued
// before t is denied from then on.
func (c *SignedClient) RevokeRoleSessions(ctx context.Context, roleName string, t time.Time) error {
	v := url.Values{"Action": {"PutRolePolicy"}, "Version": {"2010-05-08"}, "RoleName": {roleName},
		"PolicyName": {RevokeSessionsPolicyName}, "PolicyDocument": {RevokeSessionsPolicy(t)}}
	return c.query(ctx, "iam", "us-east-1", v, nil)
}
