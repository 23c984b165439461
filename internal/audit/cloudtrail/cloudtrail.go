// Package cloudtrail serves the audit trail through the CloudTrail API's
// LookupEvents (JSON 1.1, signing name "cloudtrail"), so `aws cloudtrail
// lookup-events` works against Bulwark. Callers see only their own
// account's records, and like every other call LookupEvents is authorised
// (cloudtrail:LookupEvents) and itself audited.
package cloudtrail

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/store"
)

// TargetPrefix is CloudTrail's X-Amz-Target prefix.
const TargetPrefix = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"

// Service returns the CloudTrail service over the audit store. flush, if
// not nil, is called before each lookup and waits until the store has every
// record committed so far (the trail's journal is stored behind the request
// path), so a caller finds the calls it just made.
func Service(st store.Audit, flush func(context.Context) error) *api.Service {
	s := &svc{st: st, flush: flush}
	return &api.Service{
		SigningName:        "cloudtrail",
		EventSource:        "cloudtrail.amazonaws.com",
		Protocol:           api.JSON,
		TargetPrefix:       TargetPrefix,
		AccessDeniedCode:   "AccessDeniedException",
		AccessDeniedStatus: http.StatusBadRequest,
		Actions: []api.Action{
			// The events a lookup returns are records already: its own
			// record leaves them out (CloudTrail logs no responseElements
			// for it either), or every lookup would copy the trail.
			api.Define(api.Action{Name: "LookupEvents", IAMAction: "cloudtrail:LookupEvents", Access: api.AccessRead,
				AuditHidden: []string{"Events"}},
				func(*api.Call, *lookupInput) []string { return []string{"*"} }, s.lookupEvents),
		},
	}
}

type svc struct {
	st    store.Audit
	flush func(context.Context) error
}

// flushTimeout bounds how long a lookup waits for the audit store to catch
// up with the journal.
const flushTimeout = 2 * time.Second

// Limits from the CloudTrail API reference.
const (
	defaultMaxResults = 50
	maxNextToken      = 512
	maxAttrValue      = 2000
)

type lookupAttribute struct {
	AttributeKey   string `json:"AttributeKey"`
	AttributeValue string `json:"AttributeValue"`
}

type lookupInput struct {
	LookupAttributes []lookupAttribute `json:"LookupAttributes"`
	StartTime        *epoch            `json:"StartTime"`
	EndTime          *epoch            `json:"EndTime"`
	EventCategory    string            `json:"EventCategory"`
	MaxResults       *int              `json:"MaxResults"`
	NextToken        string            `json:"NextToken"`
}

// epoch is a JSON 1.1 timestamp: seconds since the epoch, possibly
// fractional.
type epoch struct{ time.Time }

func (e *epoch) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		// Some clients send ISO 8601 strings.
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return err
		}
		e.Time = t
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return fmt.Errorf("timestamp %q out of range", b)
	}
	sec, frac := math.Modf(f)
	e.Time = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	return nil
}

var attrKeys = map[string]store.AuditAttribute{
	"EventId": store.AuditByEventID, "EventName": store.AuditByEventName, "ReadOnly": store.AuditByReadOnly,
	"Username": store.AuditByUsername, "ResourceType": store.AuditByResourceType,
	"ResourceName": store.AuditByResourceName, "EventSource": store.AuditByEventSource,
	"AccessKeyId": store.AuditByAccessKeyID,
}

func errorf(code, format string, args ...any) error {
	return awsproto.Errorf(http.StatusBadRequest, code, format, args...)
}

// Validate implements api.Validator.
func (in *lookupInput) Validate() error {
	if len(in.LookupAttributes) > 1 {
		return errorf("InvalidLookupAttributesException", "You can specify at most one lookup attribute.")
	}
	for _, a := range in.LookupAttributes {
		if _, ok := attrKeys[a.AttributeKey]; !ok {
			return errorf("InvalidLookupAttributesException", "Invalid attribute key: %.64q. Valid keys are EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource, AccessKeyId.", a.AttributeKey)
		}
		if a.AttributeValue == "" || len(a.AttributeValue) > maxAttrValue {
			return errorf("InvalidLookupAttributesException", "The attribute value must be between 1 and %d characters.", maxAttrValue)
		}
	}
	if in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > 50) {
		return errorf("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
	}
	if in.StartTime != nil && in.EndTime != nil && in.StartTime.After(in.EndTime.Time) {
		return errorf("InvalidTimeRangeException", "The start time must not be after the end time.")
	}
	switch in.EventCategory {
	case "":
	case "insight":
		return errorf("InvalidEventCategoryException", "Bulwark records no Insights events.")
	default:
		return errorf("InvalidEventCategoryException", "Invalid event category: %.64q.", in.EventCategory)
	}
	if len(in.NextToken) > maxNextToken {
		return errorf("InvalidNextTokenException", "Invalid NextToken.")
	}
	return nil
}

type resource struct {
	ResourceType string `json:"ResourceType,omitempty"`
	ResourceName string `json:"ResourceName,omitempty"`
}

type event struct {
	EventID         string     `json:"EventId"`
	EventName       string     `json:"EventName"`
	ReadOnly        string     `json:"ReadOnly"`
	AccessKeyID     string     `json:"AccessKeyId,omitempty"`
	EventTime       float64    `json:"EventTime"`
	EventSource     string     `json:"EventSource"`
	Username        string     `json:"Username,omitempty"`
	Resources       []resource `json:"Resources"`
	CloudTrailEvent string     `json:"CloudTrailEvent"`
}

type lookupOutput struct {
	Events    []event `json:"Events"`
	NextToken string  `json:"NextToken,omitempty"`
}

// The next token is the keyset cursor of the last event returned:
// base64url("v1|<unix micros>|<chain>|<seq>").
var chainRE = regexp.MustCompile(`^[0-9A-Za-z-]{1,64}$`)

func encodeToken(r store.AuditRecord) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "v1|%d|%s|%d", r.EventTime.UnixMicro(), r.ChainID, r.Seq))
}

func decodeToken(tok string) (*store.AuditCursor, error) {
	bad := errorf("InvalidNextTokenException", "Invalid NextToken.")
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, bad
	}
	parts := strings.Split(string(b), "|")
	if len(parts) != 4 || parts[0] != "v1" || !chainRE.MatchString(parts[2]) {
		return nil, bad
	}
	us, err1 := strconv.ParseInt(parts[1], 10, 64)
	seq, err2 := strconv.ParseInt(parts[3], 10, 64)
	if err1 != nil || err2 != nil || seq < 1 || us < 0 {
		return nil, bad
	}
	return &store.AuditCursor{EventTime: time.UnixMicro(us).UTC(), ChainID: parts[2], Seq: seq}, nil
}

func (s *svc) lookupEvents(ctx context.Context, c *api.Call, in *lookupInput) (any, error) {
	if s.flush != nil {
		fctx, cancel := context.WithTimeout(ctx, flushTimeout)
		// If the store cannot catch up in time (an outage), answer from
		// what it has, as CloudTrail's own lookups lag delivery.
		_ = s.flush(fctx)
		cancel()
	}
	q := store.AuditQuery{AccountID: c.Principal.AccountID, Limit: defaultMaxResults}
	if in.MaxResults != nil {
		q.Limit = *in.MaxResults
	}
	if len(in.LookupAttributes) == 1 {
		a := in.LookupAttributes[0]
		q.Attribute, q.Value = attrKeys[a.AttributeKey], a.AttributeValue
	}
	if in.StartTime != nil {
		q.Start = in.StartTime.Time
	}
	if in.EndTime != nil {
		q.End = in.EndTime.Time
	}
	if in.NextToken != "" {
		cur, err := decodeToken(in.NextToken)
		if err != nil {
			return nil, err
		}
		q.After = cur
	}
	// One more than asked says whether there is a next page.
	want := q.Limit
	q.Limit++
	recs, err := s.st.LookupAuditRecords(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("lookup events: %w", err)
	}
	out := &lookupOutput{Events: []event{}}
	if len(recs) > want {
		recs = recs[:want]
		out.NextToken = encodeToken(recs[want-1])
	}
	for _, r := range recs {
		e := event{EventID: r.EventID, EventName: r.EventName, ReadOnly: strconv.FormatBool(r.ReadOnly),
			AccessKeyID: r.AccessKeyID, EventTime: float64(r.EventTime.Unix()), EventSource: r.EventSource,
			Username: r.Username, Resources: []resource{}, CloudTrailEvent: string(r.Record)}
		for _, res := range r.Resources {
			e.Resources = append(e.Resources, resource{ResourceType: res.Type, ResourceName: res.Name})
		}
		out.Events = append(out.Events, e)
	}
	return out, nil
}
