package findings

import (
	"context"
	"errors"
	"maps"
	"strings"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

// BatchUpdate is what BatchUpdateFindings changes: the attributes that
// belong to the customer's investigation. Nil and empty fields are left as
// they are.
type BatchUpdate struct {
	Note              *NoteUpdate       `json:"Note,omitempty"`
	Severity          *SeverityUpdate   `json:"Severity,omitempty"`
	VerificationState string            `json:"VerificationState,omitempty"`
	Confidence        *int              `json:"Confidence,omitempty"`
	Criticality       *int              `json:"Criticality,omitempty"`
	Types             []string          `json:"Types,omitempty"`
	UserDefinedFields map[string]string `json:"UserDefinedFields,omitempty"`
	Workflow          *Workflow         `json:"Workflow,omitempty"`
	RelatedFindings   []RelatedFinding  `json:"RelatedFindings,omitempty"`
}

// NoteUpdate is a new note and who wrote it.
type NoteUpdate struct {
	Text      string `json:"Text"`
	UpdatedBy string `json:"UpdatedBy"`
}

// SeverityUpdate sets the severity by Label or Normalized.
type SeverityUpdate struct {
	Normalized *int     `json:"Normalized,omitempty"`
	Product    *float64 `json:"Product,omitempty"`
	Label      string   `json:"Label,omitempty"`
}

// Unprocessed is a finding BatchUpdate could not change, with Security
// Hub's error code and message.
type Unprocessed struct {
	FindingIdentifier Identifier `json:"FindingIdentifier"`
	ErrorCode         string     `json:"ErrorCode"`
	ErrorMessage      string     `json:"ErrorMessage"`
}

// WorkflowUpdatedAtField is the ProductFields key where the hub records
// (RFC 3339) when BatchUpdateFindings last set the workflow status, as
// Security Hub keeps its own "aws/securityhub/..." fields there: a
// detector reopens a resolved finding only for events after it.
const WorkflowUpdatedAtField = "bulwark/hub/WorkflowUpdatedAt"

// hubFieldPrefix marks the ProductFields the hub maintains; imports keep
// them.
const hubFieldPrefix = "bulwark/hub/"

// keepHubFields copies the hub's own ProductFields from old into f.
func keepHubFields(f, old *Finding) {
	for k, v := range old.ProductFields {
		if strings.HasPrefix(k, hubFieldPrefix) {
			if f.ProductFields == nil {
				f.ProductFields = map[string]string{}
			}
			f.ProductFields[k] = v
		}
	}
}

// WorkflowUpdatedAt returns when BatchUpdateFindings last set f's
// workflow status, or the zero time.
func WorkflowUpdatedAt(f *Finding) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, f.ProductFields[WorkflowUpdatedAtField])
	return t
}

// MaxBatch is the most findings one BatchImportFindings or
// BatchUpdateFindings call takes.
const MaxBatch = 100

// Check validates the update as a whole (an invalid one fails the call).
func (u *BatchUpdate) Check() error {
	if u.Note == nil && u.Severity == nil && u.VerificationState == "" && u.Confidence == nil &&
		u.Criticality == nil && len(u.Types) == 0 && len(u.UserDefinedFields) == 0 && u.Workflow == nil &&
		len(u.RelatedFindings) == 0 {
		return invalid("the update names no attribute to change")
	}
	if u.Note != nil {
		if err := checkString("Note.Text", u.Note.Text, maxNoteLen, true); err != nil {
			return err
		}
		if err := checkString("Note.UpdatedBy", u.Note.UpdatedBy, 512, true); err != nil {
			return err
		}
	}
	if s := u.Severity; s != nil {
		if s.Label == "" && s.Normalized == nil {
			return invalid("Severity needs a Label or a Normalized value")
		}
		if _, ok := NormalizedFor(s.Label); s.Label != "" && !ok {
			return invalid("Severity.Label %q is not valid", s.Label)
		}
		if s.Normalized != nil && (*s.Normalized < 0 || *s.Normalized > 100) {
			return invalid("Severity.Normalized must be 0 to 100")
		}
	}
	switch u.VerificationState {
	case "", "UNKNOWN", "TRUE_POSITIVE", "FALSE_POSITIVE", "BENIGN_POSITIVE":
	default:
		return invalid("VerificationState %q is not valid", u.VerificationState)
	}
	for _, p := range []*int{u.Confidence, u.Criticality} {
		if p != nil && (*p < 0 || *p > 100) {
			return invalid("Confidence and Criticality must be 0 to 100")
		}
	}
	if len(u.Types) > maxTypes {
		return invalid("Types has more than %d entries", maxTypes)
	}
	for _, t := range u.Types {
		if err := CheckType(t); err != nil {
			return err
		}
	}
	if err := checkFieldMap("UserDefinedFields", u.UserDefinedFields); err != nil {
		return err
	}
	if u.Workflow != nil {
		switch u.Workflow.Status {
		case WorkflowNew, WorkflowNotified, WorkflowSuppressed, WorkflowResolved:
		default:
			return invalid("Workflow.Status must be NEW, NOTIFIED, SUPPRESSED or RESOLVED")
		}
	}
	if len(u.RelatedFindings) > maxRelated {
		return invalid("RelatedFindings has more than %d entries", maxRelated)
	}
	return nil
}

// apply changes f; updatedBy is used when the note names nobody.
func (u *BatchUpdate) apply(f *Finding, h *Hub) {
	if u.Note != nil {
		f.Note = &Note{Text: u.Note.Text, UpdatedBy: u.Note.UpdatedBy, UpdatedAt: h.cfg.Now()}
	}
	if s := u.Severity; s != nil {
		switch {
		case s.Label != "":
			f.Severity.Label = s.Label
			f.Severity.Normalized, _ = NormalizedFor(s.Label)
			if s.Normalized != nil {
				f.Severity.Normalized = *s.Normalized
			}
		default:
			f.Severity.Normalized = *s.Normalized
			f.Severity.Label = LabelFor(*s.Normalized)
		}
		if s.Product != nil {
			f.Severity.Product = s.Product
		}
	}
	if u.VerificationState != "" {
		f.VerificationState = u.VerificationState
	}
	if u.Confidence != nil {
		v := *u.Confidence
		f.Confidence = &v
	}
	if u.Criticality != nil {
		v := *u.Criticality
		f.Criticality = &v
	}
	if len(u.Types) > 0 {
		f.Types = append([]string(nil), u.Types...)
	}
	if len(u.UserDefinedFields) > 0 {
		if f.UserDefinedFields == nil {
			f.UserDefinedFields = map[string]string{}
		}
		maps.Copy(f.UserDefinedFields, u.UserDefinedFields)
	}
	if u.Workflow != nil {
		f.Workflow.Status = u.Workflow.Status
		if f.ProductFields == nil {
			f.ProductFields = map[string]string{}
		}
		f.ProductFields[WorkflowUpdatedAtField] = h.cfg.Now().UTC().Format(time.RFC3339Nano)
	}
	if len(u.RelatedFindings) > 0 {
		f.RelatedFindings = append([]RelatedFinding(nil), u.RelatedFindings...)
	}
}

// BatchUpdate applies u to each finding of account that ids name, as
// BatchUpdateFindings does: findings of other accounts are not found, and
// each finding succeeds or fails on its own. u must have passed Check.
func (h *Hub) BatchUpdate(ctx context.Context, account string, ids []Identifier, u BatchUpdate) ([]Identifier, []Unprocessed) {
	processed := []Identifier{}
	unprocessed := []Unprocessed{}
	seen := map[Identifier]int{}
	for _, id := range ids {
		seen[id]++
	}
	fail := func(id Identifier, code, msg string) {
		unprocessed = append(unprocessed, Unprocessed{FindingIdentifier: id, ErrorCode: code, ErrorMessage: msg})
	}
	done := map[Identifier]bool{}
	for _, id := range ids {
		if seen[id] > 1 {
			if !done[id] {
				done[id] = true
				fail(id, "DuplicatedFindingIdentifier", "Finding Identifier is duplicated")
			}
			continue
		}
		_, err := h.Update(ctx, id, func(f *Finding) error {
			if account != "" && f.AwsAccountID != account {
				return store.ErrNotFound
			}
			u.apply(f, h)
			return nil
		})
		switch {
		case err == nil:
			processed = append(processed, id)
		case errors.Is(err, store.ErrNotFound):
			fail(id, "FindingNotFound", "Finding Not Found")
		case errors.Is(err, ErrConcurrentUpdate):
			fail(id, "ConcurrentUpdateError", "Concurrent finding updates detected")
		case IsInvalid(err):
			fail(id, "InvalidInput", "Invalid Input")
		default:
			h.cfg.Logger.Error("batch update finding", "id", id.ID, "err", err)
			fail(id, "InternalFailure", "Internal service failure")
		}
	}
	return processed, unprocessed
}
