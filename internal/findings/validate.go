package findings

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits from the ASFF reference and the BatchImportFindings API.
const (
	MaxFindingBytes   = 240 * 1024
	maxIDLen          = 512
	maxTitleLen       = 256
	maxDescriptionLen = 1024
	maxTypes          = 50
	maxResources      = 32
	maxFieldMap       = 50
	maxFieldKeyLen    = 128
	maxFieldValueLen  = 1024
	maxNoteLen        = 512
	maxRelated        = 10
	maxStringLen      = 1024
)

var (
	accountRE    = regexp.MustCompile(`^[0-9]{12}$`)
	productARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:securityhub:[a-z0-9-]+:(\d{12})?:product/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	typeNS       = []string{"Software and Configuration Checks", "TTPs", "Effects", "Unusual Behaviors", "Sensitive Data Identifications"}
)

// InvalidError is a finding that does not follow the ASFF syntax.
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

func invalid(format string, args ...any) error {
	return &InvalidError{Msg: fmt.Sprintf(format, args...)}
}

// IsInvalid reports whether err is an ASFF syntax error.
func IsInvalid(err error) bool {
	var ie *InvalidError
	return errors.As(err, &ie)
}

func checkString(name, s string, max int, required bool) error {
	switch {
	case s == "" && required:
		return invalid("%s is required", name)
	case len(s) > max:
		return invalid("%s is longer than %d characters", name, max)
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		return invalid("%s is not valid text", name)
	}
	return nil
}

func checkFieldMap(name string, m map[string]string) error {
	if len(m) > maxFieldMap {
		return invalid("%s has more than %d entries", name, maxFieldMap)
	}
	for k, v := range m {
		if err := checkString(name+" key", k, maxFieldKeyLen, true); err != nil {
			return err
		}
		if err := checkString(name+"."+k, v, maxFieldValueLen, true); err != nil {
			return err
		}
	}
	return nil
}

// CheckType validates a finding type "namespace/category/classifier".
func CheckType(t string) error {
	if err := checkString("Types entry", t, 128, true); err != nil {
		return err
	}
	ns, _, _ := strings.Cut(t, "/")
	for _, want := range typeNS {
		if ns == want {
			return nil
		}
	}
	return invalid("finding type %q does not start with a valid namespace (%s)", t, strings.Join(typeNS, ", "))
}

// validate checks f against the ASFF syntax and fills in what Security Hub
// derives (the other half of Severity, record state, workflow). It returns
// an *InvalidError for the first problem.
func validate(f *Finding) error {
	if f.SchemaVersion != SchemaVersion {
		return invalid("SchemaVersion must be %q", SchemaVersion)
	}
	for _, c := range []struct {
		name, v  string
		max      int
		required bool
	}{
		{"Id", f.ID, maxIDLen, true},
		{"ProductArn", f.ProductARN, maxIDLen, true},
		{"GeneratorId", f.GeneratorID, maxIDLen, true},
		{"Title", f.Title, maxTitleLen, true},
		{"Description", f.Description, maxDescriptionLen, true},
		{"ProductName", f.ProductName, 128, false},
		{"CompanyName", f.CompanyName, 128, false},
		{"Region", f.Region, 32, false},
		{"SourceUrl", f.SourceURL, maxStringLen, false},
	} {
		if err := checkString(c.name, c.v, c.max, c.required); err != nil {
			return err
		}
	}
	if !productARNRE.MatchString(f.ProductARN) {
		return invalid("ProductArn %q is not a Security Hub product ARN", f.ProductARN)
	}
	if !accountRE.MatchString(f.AwsAccountID) {
		return invalid("AwsAccountId must be a 12-digit account id")
	}
	if f.CreatedAt.IsZero() || f.UpdatedAt.IsZero() {
		return invalid("CreatedAt and UpdatedAt are required")
	}
	if f.UpdatedAt.Before(f.CreatedAt) {
		return invalid("UpdatedAt is before CreatedAt")
	}
	if err := providerFields(f); err != nil {
		return err
	}
	if len(f.Types) == 0 || len(f.Types) > maxTypes {
		return invalid("Types must have 1 to %d entries", maxTypes)
	}
	for _, t := range f.Types {
		if err := CheckType(t); err != nil {
			return err
		}
	}
	if err := normalizeSeverity(&f.Severity); err != nil {
		return err
	}
	for _, p := range []struct {
		name string
		v    *int
	}{{"Confidence", f.Confidence}, {"Criticality", f.Criticality}} {
		if p.v != nil && (*p.v < 0 || *p.v > 100) {
			return invalid("%s must be 0 to 100", p.name)
		}
	}
	if len(f.Resources) == 0 || len(f.Resources) > maxResources {
		return invalid("Resources must have 1 to %d entries", maxResources)
	}
	for i, r := range f.Resources {
		if err := checkString(fmt.Sprintf("Resources[%d].Type", i), r.Type, 256, true); err != nil {
			return err
		}
		if err := checkString(fmt.Sprintf("Resources[%d].Id", i), r.ID, maxIDLen, true); err != nil {
			return err
		}
		if err := checkFieldMap(fmt.Sprintf("Resources[%d].Tags", i), r.Tags); err != nil {
			return err
		}
		if len(r.Details) > 0 && !json.Valid(r.Details) {
			return invalid("Resources[%d].Details is not JSON", i)
		}
	}
	for k, v := range f.Extra {
		if !json.Valid(v) {
			return invalid("attribute %s is not JSON", truncate(k, 64))
		}
	}
	if err := checkFieldMap("ProductFields", f.ProductFields); err != nil {
		return err
	}
	if err := checkFieldMap("UserDefinedFields", f.UserDefinedFields); err != nil {
		return err
	}
	switch f.RecordState {
	case "":
		f.RecordState = RecordActive
	case RecordActive, RecordArchived:
	default:
		return invalid("RecordState must be ACTIVE or ARCHIVED")
	}
	switch f.VerificationState {
	case "", "UNKNOWN", "TRUE_POSITIVE", "FALSE_POSITIVE", "BENIGN_POSITIVE":
	default:
		return invalid("VerificationState %q is not valid", f.VerificationState)
	}
	if len(f.RelatedFindings) > maxRelated {
		return invalid("RelatedFindings has more than %d entries", maxRelated)
	}
	if f.Note != nil {
		if err := checkString("Note.Text", f.Note.Text, maxNoteLen, true); err != nil {
			return err
		}
		if err := checkString("Note.UpdatedBy", f.Note.UpdatedBy, 512, true); err != nil {
			return err
		}
	}
	return nil
}

// providerFields reconciles FindingProviderFields with the top-level
// attributes as Security Hub does: what the provider gave only in
// FindingProviderFields fills the top level, and a provider that gave
// only the top level has it copied into FindingProviderFields.
func providerFields(f *Finding) error {
	p := f.FindingProviderFields
	if p == nil {
		p = &ProviderFields{}
		if f.Severity.Label != "" || f.Severity.hasNormalized {
			label := f.Severity.Label
			if label == "" {
				label = LabelFor(f.Severity.Normalized)
			}
			p.Severity = &ProviderSeverity{Label: label, Original: f.Severity.Original}
		}
		p.Types = slices.Clone(f.Types)
		p.Confidence, p.Criticality = f.Confidence, f.Criticality
		p.RelatedFindings = slices.Clone(f.RelatedFindings)
		f.FindingProviderFields = p
		return nil
	}
	if p.Severity != nil {
		if _, ok := NormalizedFor(p.Severity.Label); p.Severity.Label != "" && !ok {
			return invalid("FindingProviderFields.Severity.Label %q is not valid", p.Severity.Label)
		}
		if err := checkString("FindingProviderFields.Severity.Original", p.Severity.Original, 64, false); err != nil {
			return err
		}
		if f.Severity.Label == "" && !f.Severity.hasNormalized && p.Severity.Label != "" {
			f.Severity = Severity{Label: p.Severity.Label, Original: p.Severity.Original}
		}
	}
	if len(p.Types) > maxTypes {
		return invalid("FindingProviderFields.Types has more than %d entries", maxTypes)
	}
	for _, t := range p.Types {
		if err := CheckType(t); err != nil {
			return err
		}
	}
	if len(f.Types) == 0 {
		f.Types = slices.Clone(p.Types)
	}
	for _, v := range []*int{p.Confidence, p.Criticality} {
		if v != nil && (*v < 0 || *v > 100) {
			return invalid("FindingProviderFields Confidence and Criticality must be 0 to 100")
		}
	}
	if f.Confidence == nil && p.Confidence != nil {
		v := *p.Confidence
		f.Confidence = &v
	}
	if f.Criticality == nil && p.Criticality != nil {
		v := *p.Criticality
		f.Criticality = &v
	}
	if len(p.RelatedFindings) > maxRelated {
		return invalid("FindingProviderFields.RelatedFindings has more than %d entries", maxRelated)
	}
	if len(f.RelatedFindings) == 0 {
		f.RelatedFindings = slices.Clone(p.RelatedFindings)
	}
	return nil
}

// normalizeSeverity fills in Label from Normalized or the reverse; a
// severity with neither is invalid.
func normalizeSeverity(s *Severity) error {
	switch {
	case s.Label != "":
		n, ok := NormalizedFor(s.Label)
		if !ok {
			return invalid("Severity.Label %q is not one of INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL", s.Label)
		}
		if !s.hasNormalized {
			s.Normalized = n
		}
	case s.hasNormalized:
		s.Label = LabelFor(s.Normalized)
	default:
		return invalid("Severity must have a Label or a Normalized value")
	}
	if s.Normalized < 0 || s.Normalized > 100 {
		return invalid("Severity.Normalized must be 0 to 100")
	}
	s.hasNormalized = true
	if err := checkString("Severity.Original", s.Original, 64, false); err != nil {
		return err
	}
	return nil
}

// canonical puts times in UTC at the store's (microsecond) precision.
func canonical(f *Finding) {
	for _, t := range []*time.Time{&f.FirstObservedAt, &f.LastObservedAt, &f.CreatedAt, &f.UpdatedAt, &f.ProcessedAt} {
		if !t.IsZero() {
			*t = t.UTC().Truncate(time.Microsecond)
		}
	}
	if f.Note != nil {
		f.Note.UpdatedAt = f.Note.UpdatedAt.UTC().Truncate(time.Microsecond)
	}
}
