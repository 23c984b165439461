// Package findings is Bulwark's findings hub: security findings in the AWS
// Security Finding Format (ASFF), stored through store.Findings, served by a
// Security Hub–compatible API (GetFindings, BatchImportFindings,
// BatchUpdateFindings) and handed to subscribers (notifications, automated
// response) as they are created and updated.
package findings

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"
)

// SchemaVersion is the only ASFF schema version.
const SchemaVersion = "2018-10-08"

// Severity labels.
const (
	SeverityInformational = "INFORMATIONAL"
	SeverityLow           = "LOW"
	SeverityMedium        = "MEDIUM"
	SeverityHigh          = "HIGH"
	SeverityCritical      = "CRITICAL"
)

// Workflow statuses.
const (
	WorkflowNew        = "NEW"
	WorkflowNotified   = "NOTIFIED"
	WorkflowSuppressed = "SUPPRESSED"
	WorkflowResolved   = "RESOLVED"
)

// Record states.
const (
	RecordActive   = "ACTIVE"
	RecordArchived = "ARCHIVED"
)

// Finding is one security finding in the AWS Security Finding Format. The
// attributes Bulwark reads are typed fields; any other top-level ASFF
// attribute of an imported finding (Remediation, Compliance, Network,
// Vulnerabilities, ...) is kept verbatim in Extra, so a finding round-trips.
//
// Times are UTC with microsecond precision once the hub has stored them.
type Finding struct {
	SchemaVersion     string            `json:"SchemaVersion"`
	ID                string            `json:"Id"`
	ProductARN        string            `json:"ProductArn"`
	ProductName       string            `json:"ProductName,omitempty"`
	CompanyName       string            `json:"CompanyName,omitempty"`
	Region            string            `json:"Region,omitempty"`
	GeneratorID       string            `json:"GeneratorId"`
	AwsAccountID      string            `json:"AwsAccountId"`
	Types             []string          `json:"Types,omitempty"`
	FirstObservedAt   time.Time         `json:"FirstObservedAt,omitzero"`
	LastObservedAt    time.Time         `json:"LastObservedAt,omitzero"`
	CreatedAt         time.Time         `json:"CreatedAt"`
	UpdatedAt         time.Time         `json:"UpdatedAt"`
	Severity          Severity          `json:"Severity"`
	Confidence        *int              `json:"Confidence,omitempty"`
	Criticality       *int              `json:"Criticality,omitempty"`
	Title             string            `json:"Title"`
	Description       string            `json:"Description"`
	SourceURL         string            `json:"SourceUrl,omitempty"`
	ProductFields     map[string]string `json:"ProductFields,omitempty"`
	UserDefinedFields map[string]string `json:"UserDefinedFields,omitempty"`
	Resources         []Resource        `json:"Resources"`
	VerificationState string            `json:"VerificationState,omitempty"`
	// WorkflowState is ASFF's deprecated predecessor of Workflow.Status;
	// the hub keeps it in step ("NEW", "ASSIGNED", "IN_PROGRESS",
	// "DEFERRED", "RESOLVED").
	WorkflowState   string           `json:"WorkflowState,omitempty"`
	Workflow        Workflow         `json:"Workflow"`
	RecordState     string           `json:"RecordState"`
	RelatedFindings []RelatedFinding `json:"RelatedFindings,omitempty"`
	Note            *Note            `json:"Note,omitempty"`
	ProcessedAt     time.Time        `json:"ProcessedAt,omitzero"`
	// FindingProviderFields are the provider's own values of Severity,
	// Types, Confidence, Criticality and RelatedFindings; the top-level
	// attributes take them when the provider sends only these.
	FindingProviderFields *ProviderFields `json:"FindingProviderFields,omitempty"`

	// Extra holds the other top-level ASFF attributes, as sent.
	Extra map[string]json.RawMessage `json:"-"`
}

// Severity is a finding's severity. Label is authoritative; Normalized
// (0..100) is kept in step as Security Hub does.
type Severity struct {
	Label      string   `json:"Label,omitempty"`
	Normalized int      `json:"Normalized"`
	Original   string   `json:"Original,omitempty"`
	Product    *float64 `json:"Product,omitempty"`

	// hasNormalized records whether a decoded finding carried Normalized.
	hasNormalized bool
}

// UnmarshalJSON notes whether Normalized was present: a Severity with
// neither Label nor Normalized is invalid, and 0 is a real value.
func (s *Severity) UnmarshalJSON(b []byte) error {
	type plain Severity
	var raw struct {
		plain
		Normalized *int `json:"Normalized"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*s = Severity(raw.plain)
	if raw.Normalized != nil {
		s.Normalized, s.hasNormalized = *raw.Normalized, true
	}
	return nil
}

// ProviderFields is ASFF's FindingProviderFields.
type ProviderFields struct {
	Confidence      *int              `json:"Confidence,omitempty"`
	Criticality     *int              `json:"Criticality,omitempty"`
	RelatedFindings []RelatedFinding  `json:"RelatedFindings,omitempty"`
	Severity        *ProviderSeverity `json:"Severity,omitempty"`
	Types           []string          `json:"Types,omitempty"`
}

// ProviderSeverity is the provider's severity.
type ProviderSeverity struct {
	Label    string `json:"Label,omitempty"`
	Original string `json:"Original,omitempty"`
}

// Workflow is the state of the investigation into a finding.
type Workflow struct {
	Status string `json:"Status"`
}

// Note is a user-defined note on a finding.
type Note struct {
	Text      string    `json:"Text"`
	UpdatedBy string    `json:"UpdatedBy"`
	UpdatedAt time.Time `json:"UpdatedAt"`
}

// RelatedFinding names another finding.
type RelatedFinding struct {
	ProductARN string `json:"ProductArn"`
	ID         string `json:"Id"`
}

// Resource is a resource a finding is about. Details is kept verbatim.
type Resource struct {
	Type         string            `json:"Type"`
	ID           string            `json:"Id"`
	Partition    string            `json:"Partition,omitempty"`
	Region       string            `json:"Region,omitempty"`
	ResourceRole string            `json:"ResourceRole,omitempty"`
	Tags         map[string]string `json:"Tags,omitempty"`
	Details      json.RawMessage   `json:"Details,omitempty"`
}

// Identifier names a finding: its Id is unique per product.
type Identifier struct {
	ID         string `json:"Id"`
	ProductARN string `json:"ProductArn"`
}

// Key returns the finding's identifier.
func (f *Finding) Key() Identifier { return Identifier{ID: f.ID, ProductARN: f.ProductARN} }

// known is the set of top-level attributes Finding types.
var known = func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeFor[Finding]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			m[name] = true
		}
	}
	return m
}()

// UnmarshalJSON decodes a finding, keeping attributes Finding does not
// type in Extra.
func (f *Finding) UnmarshalJSON(b []byte) error {
	type plain Finding
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	p.Extra = nil
	for k, v := range all {
		if !known[k] {
			if p.Extra == nil {
				p.Extra = map[string]json.RawMessage{}
			}
			p.Extra[k] = v
		}
	}
	*f = Finding(p)
	return nil
}

// MarshalJSON encodes a finding with its Extra attributes.
func (f Finding) MarshalJSON() ([]byte, error) {
	type plain Finding
	b, err := json.Marshal(plain(f))
	if err != nil || len(f.Extra) == 0 {
		return b, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	for k, v := range f.Extra {
		if !known[k] {
			all[k] = v
		}
	}
	return json.Marshal(all)
}

// Clone returns a deep copy of f, so subscribers and callers never share
// maps or slices with the hub. A finding whose raw JSON parts (Extra,
// Resources' Details) are not valid JSON cannot round-trip; its clone
// copies the typed parts and leaves those out (validation refuses such a
// finding anyway).
func (f Finding) Clone() Finding {
	var c Finding
	if b, err := json.Marshal(f); err == nil && json.Unmarshal(b, &c) == nil {
		c.Severity.hasNormalized = f.Severity.hasNormalized
		return c
	}
	c = f
	c.Types = slices.Clone(f.Types)
	c.ProductFields = maps.Clone(f.ProductFields)
	c.UserDefinedFields = maps.Clone(f.UserDefinedFields)
	c.RelatedFindings = slices.Clone(f.RelatedFindings)
	c.Extra = nil
	c.Resources = make([]Resource, len(f.Resources))
	for i, r := range f.Resources {
		r.Tags = maps.Clone(r.Tags)
		r.Details = nil
		c.Resources[i] = r
	}
	if f.Note != nil {
		n := *f.Note
		c.Note = &n
	}
	if p := f.FindingProviderFields; p != nil {
		cp := *p
		cp.Types, cp.RelatedFindings = slices.Clone(p.Types), slices.Clone(p.RelatedFindings)
		if p.Severity != nil {
			sv := *p.Severity
			cp.Severity = &sv
		}
		for _, q := range []**int{&cp.Confidence, &cp.Criticality} {
			if *q != nil {
				v := **q
				*q = &v
			}
		}
		c.FindingProviderFields = &cp
	}
	if f.Severity.Product != nil {
		v := *f.Severity.Product
		c.Severity.Product = &v
	}
	for _, p := range []**int{&c.Confidence, &c.Criticality} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	return c
}

// LabelFor returns the label of a normalized severity, as Security Hub
// derives it.
func LabelFor(normalized int) string {
	switch {
	case normalized <= 0:
		return SeverityInformational
	case normalized < 40:
		return SeverityLow
	case normalized < 70:
		return SeverityMedium
	case normalized < 90:
		return SeverityHigh
	}
	return SeverityCritical
}

// NormalizedFor returns the normalized severity of a label, as Security
// Hub derives it, and whether the label is valid.
func NormalizedFor(label string) (int, bool) {
	switch label {
	case SeverityInformational:
		return 0, true
	case SeverityLow:
		return 1, true
	case SeverityMedium:
		return 40, true
	case SeverityHigh:
		return 70, true
	case SeverityCritical:
		return 90, true
	}
	return 0, false
}

// NewSeverity returns a Severity with the label and its normalized value.
func NewSeverity(label string) Severity {
	n, _ := NormalizedFor(label)
	return Severity{Label: label, Normalized: n, hasNormalized: true}
}

// workflowState maps a workflow status to the deprecated WorkflowState.
func workflowState(status string) string {
	switch status {
	case WorkflowNotified:
		return "ASSIGNED"
	case WorkflowSuppressed:
		return "DEFERRED"
	case WorkflowResolved:
		return "RESOLVED"
	}
	return "NEW"
}
