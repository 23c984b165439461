package findings

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// String filter comparisons (StringFilter.Comparison).
const (
	Equals          = "EQUALS"
	Prefix          = "PREFIX"
	NotEquals       = "NOT_EQUALS"
	PrefixNotEquals = "PREFIX_NOT_EQUALS"
	Contains        = "CONTAINS"
	NotContains     = "NOT_CONTAINS"
)

// StringFilter is Security Hub's StringFilter.
type StringFilter struct {
	Value      string `json:"Value"`
	Comparison string `json:"Comparison"`
}

// DateFilter is Security Hub's DateFilter: Start and End, or a DateRange.
type DateFilter struct {
	Start     string     `json:"Start,omitempty"`
	End       string     `json:"End,omitempty"`
	DateRange *DateRange `json:"DateRange,omitempty"`
}

// DateRange is a window relative to now, in days.
type DateRange struct {
	Value      int    `json:"Value"`
	Unit       string `json:"Unit"`
	Comparison string `json:"Comparison,omitempty"`
}

// NumberFilter is Security Hub's NumberFilter; its bounds are ANDed.
type NumberFilter struct {
	Gte *float64 `json:"Gte,omitempty"`
	Lte *float64 `json:"Lte,omitempty"`
	Eq  *float64 `json:"Eq,omitempty"`
	Gt  *float64 `json:"Gt,omitempty"`
	Lt  *float64 `json:"Lt,omitempty"`
}

// MapFilter is Security Hub's MapFilter.
type MapFilter struct {
	Key        string `json:"Key"`
	Value      string `json:"Value"`
	Comparison string `json:"Comparison"`
}

// Filters is the subset of AwsSecurityFindingFilters Bulwark evaluates.
// Attributes are ANDed; the filters of one attribute combine as Security
// Hub documents (EQUALS, PREFIX and CONTAINS are ORed, NOT_EQUALS,
// PREFIX_NOT_EQUALS and NOT_CONTAINS are ANDed, date and number filters
// are ORed).
type Filters struct {
	ProductArn                []StringFilter `json:"ProductArn,omitempty"`
	AwsAccountID              []StringFilter `json:"AwsAccountId,omitempty"`
	ID                        []StringFilter `json:"Id,omitempty"`
	GeneratorID               []StringFilter `json:"GeneratorId,omitempty"`
	Region                    []StringFilter `json:"Region,omitempty"`
	Type                      []StringFilter `json:"Type,omitempty"`
	FirstObservedAt           []DateFilter   `json:"FirstObservedAt,omitempty"`
	LastObservedAt            []DateFilter   `json:"LastObservedAt,omitempty"`
	CreatedAt                 []DateFilter   `json:"CreatedAt,omitempty"`
	UpdatedAt                 []DateFilter   `json:"UpdatedAt,omitempty"`
	SeverityNormalized        []NumberFilter `json:"SeverityNormalized,omitempty"`
	SeverityLabel             []StringFilter `json:"SeverityLabel,omitempty"`
	Confidence                []NumberFilter `json:"Confidence,omitempty"`
	Criticality               []NumberFilter `json:"Criticality,omitempty"`
	Title                     []StringFilter `json:"Title,omitempty"`
	Description               []StringFilter `json:"Description,omitempty"`
	SourceURL                 []StringFilter `json:"SourceUrl,omitempty"`
	ProductFields             []MapFilter    `json:"ProductFields,omitempty"`
	ProductName               []StringFilter `json:"ProductName,omitempty"`
	CompanyName               []StringFilter `json:"CompanyName,omitempty"`
	UserDefinedFields         []MapFilter    `json:"UserDefinedFields,omitempty"`
	ResourceType              []StringFilter `json:"ResourceType,omitempty"`
	ResourceID                []StringFilter `json:"ResourceId,omitempty"`
	ResourcePartition         []StringFilter `json:"ResourcePartition,omitempty"`
	ResourceRegion            []StringFilter `json:"ResourceRegion,omitempty"`
	ResourceTags              []MapFilter    `json:"ResourceTags,omitempty"`
	VerificationState         []StringFilter `json:"VerificationState,omitempty"`
	WorkflowState             []StringFilter `json:"WorkflowState,omitempty"`
	WorkflowStatus            []StringFilter `json:"WorkflowStatus,omitempty"`
	RecordState               []StringFilter `json:"RecordState,omitempty"`
	RelatedFindingsProductArn []StringFilter `json:"RelatedFindingsProductArn,omitempty"`
	RelatedFindingsID         []StringFilter `json:"RelatedFindingsId,omitempty"`
	NoteText                  []StringFilter `json:"NoteText,omitempty"`
	NoteUpdatedAt             []DateFilter   `json:"NoteUpdatedAt,omitempty"`
	NoteUpdatedBy             []StringFilter `json:"NoteUpdatedBy,omitempty"`
}

// Limits of GetFindings' filters.
const (
	maxFilterAttributes = 10
	maxFilterValues     = 20
)

// supportedFilters are the JSON names Filters decodes.
var supportedFilters = func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeFor[Filters]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		m[name] = true
	}
	return m
}()

// DecodeFilters decodes AwsSecurityFindingFilters JSON, refusing
// attributes Bulwark does not evaluate (a filter silently ignored would
// return findings the caller meant to exclude) and filters over the
// limits.
func DecodeFilters(raw json.RawMessage) (Filters, error) {
	var f Filters
	if len(raw) == 0 || string(raw) == "null" {
		return f, nil
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return f, invalid("Filters must be an object")
	}
	n := 0
	for k, v := range keys {
		if !supportedFilters[k] {
			return f, invalid("the filter attribute %q is not supported by this endpoint", k)
		}
		var vals []json.RawMessage
		if err := json.Unmarshal(v, &vals); err != nil {
			return f, invalid("filter %s must be a list", k)
		}
		if len(vals) > maxFilterValues {
			return f, invalid("filter %s has more than %d values", k, maxFilterValues)
		}
		if len(vals) > 0 {
			n++
		}
	}
	if n > maxFilterAttributes {
		return f, invalid("at most %d finding attributes can be filtered", maxFilterAttributes)
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return f, invalid("Filters are not valid: %v", err)
	}
	return f, f.check()
}

func (f *Filters) check() error {
	for name, sf := range f.strings() {
		if err := checkStringFilters(name, sf); err != nil {
			return err
		}
	}
	for name, df := range f.dates() {
		for _, d := range df {
			if _, _, err := d.bounds(time.Now()); err != nil {
				return invalid("%s: %v", name, err)
			}
		}
	}
	for name, mf := range f.maps() {
		for _, m := range mf {
			switch m.Comparison {
			case Equals, NotEquals, Contains, NotContains:
			default:
				return invalid("%s: comparison %q is not valid for a map filter", name, m.Comparison)
			}
			if m.Key == "" || m.Value == "" {
				return invalid("%s: Key and Value are required", name)
			}
		}
	}
	return nil
}

func checkStringFilters(name string, fs []StringFilter) error {
	has := map[string]bool{}
	for _, s := range fs {
		switch s.Comparison {
		case Equals, Prefix, NotEquals, PrefixNotEquals, Contains, NotContains:
		case "CONTAINS_WORD":
			return invalid("%s: CONTAINS_WORD is only valid for the V2 APIs", name)
		default:
			return invalid("%s: comparison %q is not valid", name, s.Comparison)
		}
		if s.Value == "" {
			return invalid("%s: Value is required", name)
		}
		has[s.Comparison] = true
	}
	switch {
	case has[Contains] && len(has) > 1:
		return invalid("%s: CONTAINS filters can only be used with other CONTAINS filters", name)
	case has[NotContains] && len(has) > 1:
		return invalid("%s: NOT_CONTAINS filters can only be used with other NOT_CONTAINS filters", name)
	case has[Equals] && (has[NotEquals] || has[PrefixNotEquals]):
		return invalid("%s: EQUALS cannot be combined with NOT_EQUALS or PREFIX_NOT_EQUALS", name)
	}
	return nil
}

func (f *Filters) strings() map[string][]StringFilter {
	return map[string][]StringFilter{
		"ProductArn": f.ProductArn, "AwsAccountId": f.AwsAccountID, "Id": f.ID, "GeneratorId": f.GeneratorID,
		"Region": f.Region, "Type": f.Type, "SeverityLabel": f.SeverityLabel, "Title": f.Title,
		"Description": f.Description, "SourceUrl": f.SourceURL, "ProductName": f.ProductName,
		"CompanyName": f.CompanyName, "ResourceType": f.ResourceType, "ResourceId": f.ResourceID,
		"ResourcePartition": f.ResourcePartition, "ResourceRegion": f.ResourceRegion,
		"VerificationState": f.VerificationState, "WorkflowState": f.WorkflowState,
		"WorkflowStatus": f.WorkflowStatus, "RecordState": f.RecordState,
		"RelatedFindingsProductArn": f.RelatedFindingsProductArn, "RelatedFindingsId": f.RelatedFindingsID,
		"NoteText": f.NoteText, "NoteUpdatedBy": f.NoteUpdatedBy,
	}
}

func (f *Filters) dates() map[string][]DateFilter {
	return map[string][]DateFilter{"FirstObservedAt": f.FirstObservedAt, "LastObservedAt": f.LastObservedAt,
		"CreatedAt": f.CreatedAt, "UpdatedAt": f.UpdatedAt, "NoteUpdatedAt": f.NoteUpdatedAt}
}

func (f *Filters) maps() map[string][]MapFilter {
	return map[string][]MapFilter{"ProductFields": f.ProductFields, "UserDefinedFields": f.UserDefinedFields,
		"ResourceTags": f.ResourceTags}
}

// Match reports whether finding g passes every filter, at time now (for
// DateRange filters).
func (f *Filters) Match(g *Finding, now time.Time) bool {
	one := func(s string) []string {
		if s == "" {
			return nil
		}
		return []string{s}
	}
	var rType, rID, rPart, rRegion []string
	var rTags []map[string]string
	for _, r := range g.Resources {
		rType, rID = append(rType, r.Type), append(rID, r.ID)
		if r.Partition != "" {
			rPart = append(rPart, r.Partition)
		}
		if r.Region != "" {
			rRegion = append(rRegion, r.Region)
		}
		rTags = append(rTags, r.Tags)
	}
	var relP, relI []string
	for _, r := range g.RelatedFindings {
		relP, relI = append(relP, r.ProductARN), append(relI, r.ID)
	}
	var noteText, noteBy []string
	var noteAt time.Time
	if g.Note != nil {
		noteText, noteBy, noteAt = one(g.Note.Text), one(g.Note.UpdatedBy), g.Note.UpdatedAt
	}
	strs := []struct {
		fs   []StringFilter
		vals []string
	}{
		{f.ProductArn, one(g.ProductARN)}, {f.AwsAccountID, one(g.AwsAccountID)}, {f.ID, one(g.ID)},
		{f.GeneratorID, one(g.GeneratorID)}, {f.Region, one(g.Region)}, {f.Type, g.Types},
		{f.SeverityLabel, one(g.Severity.Label)}, {f.Title, one(g.Title)}, {f.Description, one(g.Description)},
		{f.SourceURL, one(g.SourceURL)}, {f.ProductName, one(g.ProductName)}, {f.CompanyName, one(g.CompanyName)},
		{f.ResourceType, rType}, {f.ResourceID, rID}, {f.ResourcePartition, rPart}, {f.ResourceRegion, rRegion},
		{f.VerificationState, one(g.VerificationState)}, {f.WorkflowState, one(g.WorkflowState)},
		{f.WorkflowStatus, one(g.Workflow.Status)}, {f.RecordState, one(g.RecordState)},
		{f.RelatedFindingsProductArn, relP}, {f.RelatedFindingsID, relI},
		{f.NoteText, noteText}, {f.NoteUpdatedBy, noteBy},
	}
	for _, s := range strs {
		if len(s.fs) > 0 && !matchStrings(s.fs, s.vals) {
			return false
		}
	}
	dates := []struct {
		fs []DateFilter
		t  time.Time
	}{
		{f.FirstObservedAt, g.FirstObservedAt}, {f.LastObservedAt, g.LastObservedAt},
		{f.CreatedAt, g.CreatedAt}, {f.UpdatedAt, g.UpdatedAt}, {f.NoteUpdatedAt, noteAt},
	}
	for _, d := range dates {
		if len(d.fs) > 0 && !matchDates(d.fs, d.t, now) {
			return false
		}
	}
	num := func(p *int) *float64 {
		if p == nil {
			return nil
		}
		v := float64(*p)
		return &v
	}
	sev := float64(g.Severity.Normalized)
	nums := []struct {
		fs []NumberFilter
		v  *float64
	}{{f.SeverityNormalized, &sev}, {f.Confidence, num(g.Confidence)}, {f.Criticality, num(g.Criticality)}}
	for _, n := range nums {
		if len(n.fs) > 0 && !matchNumbers(n.fs, n.v) {
			return false
		}
	}
	maps := []struct {
		fs []MapFilter
		ms []map[string]string
	}{{f.ProductFields, []map[string]string{g.ProductFields}}, {f.UserDefinedFields, []map[string]string{g.UserDefinedFields}}, {f.ResourceTags, rTags}}
	for _, m := range maps {
		if len(m.fs) > 0 && !matchMaps(m.fs, m.ms) {
			return false
		}
	}
	return true
}

func compare(comparison, v, want string) bool {
	switch comparison {
	case Equals, NotEquals:
		return v == want
	case Prefix, PrefixNotEquals:
		return strings.HasPrefix(v, want)
	case Contains, NotContains:
		return strings.Contains(v, want)
	}
	return false
}

func negative(comparison string) bool {
	return comparison == NotEquals || comparison == PrefixNotEquals || comparison == NotContains
}

// matchStrings applies one attribute's filters to its values (several for
// Types or resources): a positive filter matches if any value does, and
// the positives are ORed; a negative filter matches if no value has the
// excluded form, and the negatives are ANDed.
func matchStrings(fs []StringFilter, vals []string) bool {
	anyPositive, positiveHit := false, false
	for _, f := range fs {
		hit := false
		for _, v := range vals {
			if compare(f.Comparison, v, f.Value) {
				hit = true
				break
			}
		}
		if negative(f.Comparison) {
			if hit {
				return false
			}
			continue
		}
		anyPositive = true
		positiveHit = positiveHit || hit
	}
	return !anyPositive || positiveHit
}

func matchMaps(fs []MapFilter, ms []map[string]string) bool {
	anyPositive, positiveHit := false, false
	for _, f := range fs {
		hit := false
		for _, m := range ms {
			if v, ok := m[f.Key]; ok && compare(f.Comparison, v, f.Value) {
				hit = true
				break
			}
		}
		if negative(f.Comparison) {
			if hit {
				return false
			}
			continue
		}
		anyPositive = true
		positiveHit = positiveHit || hit
	}
	return !anyPositive || positiveHit
}

// bounds returns the inclusive window a date filter selects (a zero bound
// is open).
func (d DateFilter) bounds(now time.Time) (from, to time.Time, err error) {
	if d.DateRange != nil {
		if d.Start != "" || d.End != "" {
			return from, to, fmt.Errorf("give either Start and End or a DateRange")
		}
		r := d.DateRange
		if r.Unit != "DAYS" || r.Value < 0 {
			return from, to, fmt.Errorf("DateRange needs a non-negative Value and Unit DAYS")
		}
		edge := now.Add(-time.Duration(r.Value) * 24 * time.Hour)
		switch r.Comparison {
		case "", "WITHIN":
			return edge, now, nil
		case "OLDER_THAN":
			return time.Time{}, edge.Add(-time.Nanosecond), nil
		}
		return from, to, fmt.Errorf("DateRange.Comparison must be WITHIN or OLDER_THAN")
	}
	if d.Start == "" && d.End == "" {
		return from, to, fmt.Errorf("a date filter needs Start and End or a DateRange")
	}
	if d.Start != "" {
		if from, err = time.Parse(time.RFC3339Nano, d.Start); err != nil {
			return from, to, fmt.Errorf("Start %q is not an RFC 3339 timestamp", d.Start)
		}
	}
	if d.End != "" {
		if to, err = time.Parse(time.RFC3339Nano, d.End); err != nil {
			return from, to, fmt.Errorf("End %q is not an RFC 3339 timestamp", d.End)
		}
	}
	return from, to, nil
}

func matchDates(fs []DateFilter, t, now time.Time) bool {
	if t.IsZero() {
		return false
	}
	for _, f := range fs {
		from, to, err := f.bounds(now)
		if err != nil {
			continue
		}
		if (from.IsZero() || !t.Before(from)) && (to.IsZero() || !t.After(to)) {
			return true
		}
	}
	return false
}

func matchNumbers(fs []NumberFilter, v *float64) bool {
	if v == nil {
		return false
	}
	x := *v
	for _, f := range fs {
		if (f.Eq == nil || x == *f.Eq) && (f.Gte == nil || x >= *f.Gte) && (f.Lte == nil || x <= *f.Lte) &&
			(f.Gt == nil || x > *f.Gt) && (f.Lt == nil || x < *f.Lt) {
			return true
		}
	}
	return false
}

// equalsOnly returns the values of an attribute's filters if they are all
// EQUALS (the store can then select them on an index), else nil.
func equalsOnly(fs []StringFilter) []string {
	if len(fs) == 0 {
		return nil
	}
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		if f.Comparison != Equals {
			return nil
		}
		out = append(out, f.Value)
	}
	return out
}
