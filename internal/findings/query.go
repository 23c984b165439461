package findings

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

// SortCriterion orders GetFindings' results.
type SortCriterion struct {
	Field     string `json:"Field"`
	SortOrder string `json:"SortOrder,omitempty"`
}

// Query is one GetFindings page request.
type Query struct {
	// AccountID restricts the results to one account's findings (the
	// caller's); empty means every account.
	AccountID string
	Filters   Filters
	// Sort is the first sort criterion; the zero value is UpdatedAt,
	// newest first.
	Sort       SortCriterion
	MaxResults int
	NextToken  string
}

// Paging limits.
const (
	DefaultMaxResults = 100
	MaxMaxResults     = 100
	// scanBudget bounds the stored findings one call examines, so a filter
	// that matches little cannot make one request read the whole table; the
	// page may then be short, with a NextToken to continue.
	scanBudget = 5000
	batchSize  = 200
)

// sortKeys maps the sortable attributes to the store's orders.
var sortKeys = map[string]store.FindingSort{
	"UpdatedAt": store.SortUpdatedAt, "CreatedAt": store.SortCreatedAt,
	"SeverityNormalized": store.SortSeverity, "SeverityLabel": store.SortSeverity,
	"Severity.Normalized": store.SortSeverity, "Severity.Label": store.SortSeverity,
}

// token is the decoded NextToken: where the previous page stopped, and a
// digest of the query it belongs to.
type token struct {
	T int64  `json:"t,omitempty"`
	V int    `json:"v,omitempty"`
	P string `json:"p"`
	I string `json:"i"`
	Q string `json:"q"`
}

func queryDigest(q *Query, sort store.FindingSort, desc bool) string {
	b, _ := json.Marshal(struct {
		A string
		F Filters
		S store.FindingSort
		D bool
	}{q.AccountID, q.Filters, sort, desc})
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// Query returns one page of findings matching q and the token of the next
// page ("" at the end).
func (h *Hub) Query(ctx context.Context, q Query) ([]Finding, string, error) {
	field := q.Sort.Field
	if field == "" {
		field = "UpdatedAt"
	}
	sort, ok := sortKeys[field]
	if !ok {
		return nil, "", invalid("sorting by %q is not supported; use UpdatedAt, CreatedAt, SeverityNormalized or SeverityLabel", field)
	}
	desc := q.Sort.Field == "" // newest first by default
	switch q.Sort.SortOrder {
	case "asc":
		desc = false
	case "desc":
		desc = true
	case "":
	default:
		return nil, "", invalid("SortOrder must be asc or desc")
	}
	max := q.MaxResults
	if max == 0 {
		max = DefaultMaxResults
	}
	if max < 1 || max > MaxMaxResults {
		return nil, "", invalid("MaxResults must be 1 to %d", MaxMaxResults)
	}
	digest := queryDigest(&q, sort, desc)
	sq := store.FindingQuery{
		ProductARNs: equalsOnly(q.Filters.ProductArn), IDs: equalsOnly(q.Filters.ID),
		GeneratorIDs: equalsOnly(q.Filters.GeneratorID), WorkflowStatuses: equalsOnly(q.Filters.WorkflowStatus),
		RecordStates: equalsOnly(q.Filters.RecordState), AccountIDs: equalsOnly(q.Filters.AwsAccountID),
		Sort: sort, Desc: desc, Limit: batchSize,
	}
	if q.AccountID != "" {
		sq.AccountIDs = []string{q.AccountID}
	}
	if q.NextToken != "" {
		t, err := decodeToken(q.NextToken)
		if err != nil || t.Q != digest {
			return nil, "", invalid("the NextToken is not valid for this request")
		}
		sq.After = &store.FindingCursor{Time: time.UnixMicro(t.T).UTC(), Severity: t.V, ProductARN: t.P, ID: t.I}
	}
	now := h.cfg.Now()
	out := []Finding{}
	var last *store.FindingRecord
	for scanned := 0; scanned < scanBudget; {
		rs, err := h.cfg.Store.ListFindings(ctx, sq)
		if err != nil {
			return nil, "", err
		}
		for i := range rs {
			r := &rs[i]
			scanned++
			last = r
			f, err := Decode(*r)
			if err != nil {
				return nil, "", err
			}
			if q.AccountID != "" && f.AwsAccountID != q.AccountID {
				continue
			}
			if !q.Filters.Match(&f, now) {
				continue
			}
			out = append(out, f)
			if len(out) == max {
				return out, encodeToken(r, sort, digest), nil
			}
		}
		if len(rs) < sq.Limit {
			return out, "", nil
		}
		sq.After = cursor(last, sort)
	}
	return out, encodeToken(last, sort, digest), nil
}

// sortTime is the time a record sorts by under sort.
func sortTime(r *store.FindingRecord, sort store.FindingSort) time.Time {
	if sort == store.SortCreatedAt {
		return r.CreatedAt
	}
	return r.UpdatedAt
}

func cursor(r *store.FindingRecord, sort store.FindingSort) *store.FindingCursor {
	return &store.FindingCursor{Time: sortTime(r, sort), Severity: r.Severity, ProductARN: r.ProductARN, ID: r.ID}
}

// encodeToken records r's position in the sort order; the digest binds the
// token to one query and sort.
func encodeToken(r *store.FindingRecord, sort store.FindingSort, digest string) string {
	t := token{V: r.Severity, P: r.ProductARN, I: r.ID, Q: digest, T: sortTime(r, sort).UnixMicro()}
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) (token, error) {
	var t token
	if len(s) > 4096 {
		return t, invalid("token too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return t, err
	}
	err = json.Unmarshal(b, &t)
	return t, err
}
