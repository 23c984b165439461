package findings

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
)

// Service returns the Security Hub–compatible API over the hub:
// GetFindings, BatchImportFindings and BatchUpdateFindings, REST-JSON as
// `aws securityhub` speaks it, each authorised as securityhub:<Action> on
// the caller's hub ARN (arn:aws:securityhub:<region>:<account>:hub/default).
// Callers see and change only their own account's findings.
func (h *Hub) Service() *api.Service {
	return &api.Service{
		SigningName: "securityhub", EventSource: "securityhub.amazonaws.com", Protocol: api.RESTJSON,
		AccessDeniedCode: "AccessDeniedException", AccessDeniedStatus: http.StatusForbidden,
		Actions: []api.Action{
			api.Define(api.Action{Name: "GetFindings", IAMAction: "securityhub:GetFindings", Access: api.AccessRead,
				HTTPMethod: "POST", HTTPPath: "/findings"}, hubResource[getFindingsIn], h.getFindings),
			api.Define(api.Action{Name: "BatchImportFindings", IAMAction: "securityhub:BatchImportFindings", Access: api.AccessWrite,
				HTTPMethod: "POST", HTTPPath: "/findings/import"}, hubResource[batchImportIn], h.batchImport),
			api.Define(api.Action{Name: "BatchUpdateFindings", IAMAction: "securityhub:BatchUpdateFindings", Access: api.AccessWrite,
				HTTPMethod: "PATCH", HTTPPath: "/findings/batchupdate"}, hubResource[batchUpdateIn], h.batchUpdate),
			api.Define(api.Action{Name: "DescribeHub", IAMAction: "securityhub:DescribeHub", Access: api.AccessRead,
				HTTPMethod: "GET", HTTPPath: "/accounts"}, hubResource[noInput], h.describeHub),
			api.Define(api.Action{Name: "EnableSecurityHub", IAMAction: "securityhub:EnableSecurityHub", Access: api.AccessWrite,
				HTTPMethod: "POST", HTTPPath: "/accounts"}, hubResource[noInput], h.enableHub),
		},
	}
}

// HubARN is an account's Security Hub ARN in a region.
func HubARN(region, account string) string {
	return "arn:aws:securityhub:" + region + ":" + account + ":hub/default"
}

func hubResource[In any](c *api.Call, _ *In) []string {
	return []string{HubARN(c.Region, c.Principal.AccountID)}
}

// invalidInput is Security Hub's InvalidInputException.
func invalidInput(format string, args ...any) error {
	return awsproto.Errorf(http.StatusBadRequest, "InvalidInputException", format, args...)
}

// public turns a hub error into the wire error.
func public(err error) error {
	if IsInvalid(err) {
		return invalidInput("%s", err.Error())
	}
	return err
}

type getFindingsIn struct {
	Filters      json.RawMessage `json:"Filters"`
	SortCriteria []SortCriterion `json:"SortCriteria"`
	NextToken    string          `json:"NextToken"`
	MaxResults   int             `json:"MaxResults"`
}

func (in *getFindingsIn) Validate() error {
	if len(in.SortCriteria) > 10 {
		return invalidInput("SortCriteria has more than 10 entries")
	}
	if in.MaxResults != 0 && (in.MaxResults < 1 || in.MaxResults > MaxMaxResults) {
		return invalidInput("MaxResults must be between 1 and %d", MaxMaxResults)
	}
	return nil
}

type getFindingsOut struct {
	Findings  []Finding `json:"Findings"`
	NextToken string    `json:"NextToken,omitempty"`
}

func (h *Hub) getFindings(ctx context.Context, c *api.Call, in *getFindingsIn) (any, error) {
	filters, err := DecodeFilters(in.Filters)
	if err != nil {
		return nil, public(err)
	}
	q := Query{AccountID: c.Principal.AccountID, Filters: filters, MaxResults: in.MaxResults, NextToken: in.NextToken}
	if len(in.SortCriteria) > 0 {
		// The first criterion orders the results; ties fall back to the
		// finding's product and id, not to later criteria.
		q.Sort = in.SortCriteria[0]
	}
	fs, next, err := h.Query(ctx, q)
	if err != nil {
		return nil, public(err)
	}
	return getFindingsOut{Findings: fs, NextToken: next}, nil
}

type batchImportIn struct {
	Findings []json.RawMessage `json:"Findings"`
}

func (in *batchImportIn) Validate() error {
	if len(in.Findings) < 1 || len(in.Findings) > MaxBatch {
		return invalidInput("Findings must have 1 to %d entries", MaxBatch)
	}
	return nil
}

// ImportError is one finding BatchImportFindings refused.
type ImportError struct {
	ID           string `json:"Id"`
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

type batchImportOut struct {
	FailedCount    int           `json:"FailedCount"`
	SuccessCount   int           `json:"SuccessCount"`
	FailedFindings []ImportError `json:"FailedFindings"`
}

var productAccountRE = regexp.MustCompile(`^arn:[^:]+:securityhub:([^:]+):([^:]*):product/`)

func (h *Hub) batchImport(ctx context.Context, c *api.Call, in *batchImportIn) (any, error) {
	out := batchImportOut{FailedFindings: []ImportError{}}
	account := c.Principal.AccountID
	for _, raw := range in.Findings {
		f, code, msg := h.importOne(ctx, account, raw)
		if code == "" {
			out.SuccessCount++
			continue
		}
		id := f.ID
		if id == "" {
			id = "unknown"
		}
		out.FailedCount++
		out.FailedFindings = append(out.FailedFindings, ImportError{ID: truncate(id, maxIDLen), ErrorCode: code, ErrorMessage: msg})
	}
	return out, nil
}

// importOne imports one finding and returns an error code and message if
// it failed.
func (h *Hub) importOne(ctx context.Context, account string, raw json.RawMessage) (Finding, string, string) {
	var f Finding
	if len(raw) > MaxFindingBytes {
		_ = json.Unmarshal(raw, &struct {
			ID *string `json:"Id"`
		}{&f.ID})
		return f, "FindingSizeExceeded", fmt.Sprintf("Finding size exceeded %d KB", MaxFindingBytes/1024)
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return f, "InvalidInput", "Finding does not follow the AWS Security Finding Format: not a valid finding object"
	}
	// Syntax first (on a copy: validate fills in derived attributes), so a
	// malformed finding is InvalidInput whatever it claims.
	check := f
	if err := validate(&check); err != nil {
		return f, "InvalidInput", "Finding does not follow the AWS Security Finding Format: " + err.Error()
	}
	// Like Security Hub's default product: an account imports only its own
	// findings, under its own or its region's product ARNs; Bulwark's
	// detector product is reserved so no caller can forge its findings.
	m := productAccountRE.FindStringSubmatch(f.ProductARN)
	switch {
	case f.AwsAccountID != account:
		return f, "AccessDeniedException", "The caller's account cannot import findings for account " + truncate(f.AwsAccountID, 32)
	case m != nil && (m[1] != h.cfg.Region || (m[2] != "" && m[2] != account)):
		return f, "AccessDeniedException", "The caller's account cannot import findings for this ProductArn"
	case f.ProductARN == h.ProductARN():
		return f, "AccessDeniedException", "The ProductArn is reserved for Bulwark's own detectors"
	}
	if _, _, err := h.Import(ctx, f); err != nil {
		if IsInvalid(err) {
			return f, "InvalidInput", "Finding does not follow the AWS Security Finding Format: " + err.Error()
		}
		h.cfg.Logger.Error("import finding", "id", f.ID, "err", err)
		return f, "InternalFailure", "Internal service failure"
	}
	return f, "", ""
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

type batchUpdateIn struct {
	FindingIdentifiers []Identifier `json:"FindingIdentifiers"`
	BatchUpdate
}

func (in *batchUpdateIn) Validate() error {
	if len(in.FindingIdentifiers) < 1 || len(in.FindingIdentifiers) > MaxBatch {
		return invalidInput("FindingIdentifiers must have 1 to %d entries", MaxBatch)
	}
	for _, id := range in.FindingIdentifiers {
		if id.ID == "" || id.ProductARN == "" || len(id.ID) > maxIDLen || len(id.ProductARN) > maxIDLen {
			return invalidInput("each finding identifier needs an Id and a ProductArn")
		}
	}
	if err := in.BatchUpdate.Check(); err != nil {
		return public(err)
	}
	return nil
}

type batchUpdateOut struct {
	ProcessedFindings   []Identifier  `json:"ProcessedFindings"`
	UnprocessedFindings []Unprocessed `json:"UnprocessedFindings"`
}

func (h *Hub) batchUpdate(ctx context.Context, c *api.Call, in *batchUpdateIn) (any, error) {
	p, u := h.BatchUpdate(ctx, c.Principal.AccountID, in.FindingIdentifiers, in.BatchUpdate)
	return batchUpdateOut{ProcessedFindings: p, UnprocessedFindings: u}, nil
}

type noInput struct{}

type describeHubOut struct {
	HubArn                  string `json:"HubArn"`
	SubscribedAt            string `json:"SubscribedAt,omitempty"`
	AutoEnableControls      bool   `json:"AutoEnableControls"`
	ControlFindingGenerator string `json:"ControlFindingGenerator"`
}

// describeHub answers for the caller's hub, which is always enabled; it
// was subscribed when the account was created. (The optional HubArn query
// parameter is not read: a caller can only describe its own hub.)
func (h *Hub) describeHub(ctx context.Context, c *api.Call, _ *noInput) (any, error) {
	out := describeHubOut{HubArn: HubARN(c.Region, c.Principal.AccountID), ControlFindingGenerator: "SECURITY_CONTROL"}
	if h.cfg.SubscribedAt != nil {
		if t, err := h.cfg.SubscribedAt(ctx, c.Principal.AccountID); err == nil && !t.IsZero() {
			out.SubscribedAt = t.UTC().Format("2006-01-02T15:04:05.000Z")
		}
	}
	return out, nil
}

// enableHub answers as Security Hub does for an account already
// subscribed: every Bulwark account's hub is on from the start.
func (h *Hub) enableHub(_ context.Context, c *api.Call, _ *noInput) (any, error) {
	return nil, awsproto.Errorf(http.StatusConflict, "ResourceConflictException",
		"Account %s is already subscribed to Security Hub", c.Principal.AccountID)
}
