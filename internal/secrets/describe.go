package secrets

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"slices"
	"strings"
	"unicode"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/store"
)

// secretIDInput is the input of the actions that take only a SecretId.
type secretIDInput struct {
	SecretID string `json:"SecretId"`
	found
}

func (in *secretIDInput) secretID() string { return in.SecretID }

func (in *secretIDInput) Validate() error {
	if !validSecretID(in.SecretID) {
		return invalidParam("SecretId must be between 1 and %d characters.", maxIDLen)
	}
	return nil
}

func (s *Service) describeSecret(ctx context.Context, _ *api.Call, in *secretIDInput) (any, error) {
	sec, err := in.get()
	if err != nil {
		return nil, err
	}
	vs, err := s.cfg.Store.ListSecretVersions(ctx, sec.ARN)
	if err != nil {
		return nil, storeErr(err)
	}
	m := metaOf(sec)
	m.VersionIdsToStages = stageMap(vs)
	return &m, nil
}

// ---- ListSecrets

type filter struct {
	Key    string   `json:"Key"`
	Values []string `json:"Values"`
}

type listSecretsInput struct {
	IncludePlannedDeletion bool     `json:"IncludePlannedDeletion"`
	MaxResults             *int     `json:"MaxResults"`
	NextToken              string   `json:"NextToken"`
	Filters                []filter `json:"Filters"`
	SortOrder              string   `json:"SortOrder"`
	SortBy                 string   `json:"SortBy"`
}

func (in *listSecretsInput) Validate() error {
	if in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > 100) {
		return invalidParam("MaxResults must be between 1 and 100.")
	}
	if len(in.NextToken) > 4096 {
		return invalidParam("Invalid NextToken.")
	}
	switch in.SortOrder {
	case "", "asc", "desc":
	default:
		return invalidParam("SortOrder must be asc or desc.")
	}
	switch in.SortBy {
	case "", "created-date", "last-accessed-date", "last-changed-date", "name":
	default:
		return invalidParam("SortBy must be one of created-date, last-accessed-date, last-changed-date, name.")
	}
	return checkFilters(in.Filters)
}

// checkFilters validates Filters as the API reference's Filter type does.
func checkFilters(fs []filter) error {
	if len(fs) > 10 {
		return invalidParam("You can specify at most 10 filters.")
	}
	for _, f := range fs {
		switch f.Key {
		case "description", "name", "tag-key", "tag-value", "primary-region", "owning-service", "all":
		default:
			return invalidParam("Invalid filter key %q.", truncate(f.Key, 64))
		}
		if len(f.Values) < 1 || len(f.Values) > 10 {
			return invalidParam("Each filter must have between 1 and 10 values.")
		}
		for _, v := range f.Values {
			if len(v) > 512 || !validFilterValue(v) {
				return invalidParam("Invalid filter value.")
			}
		}
	}
	return nil
}

// validFilterValue: ^\!?[a-zA-Z0-9 :_@\/\+\=\.\-\!]*$
func validFilterValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if !isAlnum(v[i]) && !strings.ContainsRune(" :_@/+=.-!", rune(v[i])) {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

type listSecretsOutput struct {
	SecretList []secretMeta `json:"SecretList"`
	NextToken  string       `json:"NextToken,omitempty"`
}

func (s *Service) listSecrets(ctx context.Context, c *api.Call, in *listSecretsInput) (any, error) {
	page, next, err := s.findSecrets(ctx, c, in.Filters, in.IncludePlannedDeletion, in.SortBy, in.SortOrder, in.MaxResults, in.NextToken, 100)
	if err != nil {
		return nil, err
	}
	out := &listSecretsOutput{SecretList: make([]secretMeta, 0, len(page)), NextToken: next}
	for i := range page {
		vs, err := s.cfg.Store.ListSecretVersions(ctx, page[i].ARN)
		if err != nil {
			continue // deleted since the listing
		}
		m := metaOf(&page[i])
		m.SecretVersionsToStages = stageMap(vs)
		out.SecretList = append(out.SecretList, m)
	}
	return out, nil
}

// findSecrets lists the caller's secrets that pass the filters, sorted and
// paged. The NextToken is the offset of the next page, which is what AWS's
// opaque token amounts to for a listing that may change between pages.
func (s *Service) findSecrets(ctx context.Context, c *api.Call, fs []filter, planned bool, sortBy, order string, maxResults *int, token string, def int) ([]store.Secret, string, error) {
	all, err := s.cfg.Store.ListSecrets(ctx, account(c), c.Region)
	if err != nil {
		return nil, "", storeErr(err)
	}
	kept := all[:0]
	for _, sec := range all {
		if !planned && !sec.DeletedAt.IsZero() {
			continue
		}
		if matchFilters(&sec, fs) {
			kept = append(kept, sec)
		}
	}
	sortSecrets(kept, sortBy)
	if order == "desc" {
		slices.Reverse(kept)
	}
	off := 0
	if token != "" {
		b, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(b) != 8 {
			return nil, "", invalidParam("Invalid NextToken.")
		}
		off = int(min(binary.BigEndian.Uint64(b), uint64(len(kept))))
	}
	n := def
	if maxResults != nil {
		n = *maxResults
	}
	end := min(off+n, len(kept))
	next := ""
	if end < len(kept) {
		next = base64.RawURLEncoding.EncodeToString(binary.BigEndian.AppendUint64(nil, uint64(end)))
	}
	return kept[off:end], next, nil
}

func sortSecrets(ss []store.Secret, by string) {
	slices.SortStableFunc(ss, func(a, b store.Secret) int {
		switch by {
		case "name":
			return strings.Compare(a.Name, b.Name)
		case "last-accessed-date":
			return a.LastAccessedAt.Compare(b.LastAccessedAt)
		case "last-changed-date":
			return a.LastChangedAt.Compare(b.LastChangedAt)
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
}

// matchFilters applies ListSecrets filters (API reference, Filter): all
// filters must match; within one filter a secret matches if any plain value
// matches and no value negated with "!" does.
func matchFilters(sec *store.Secret, fs []filter) bool {
	for _, f := range fs {
		anyPlain, plainHit := false, false
		for _, v := range f.Values {
			neg := strings.HasPrefix(v, "!")
			v = strings.TrimPrefix(v, "!")
			hit := matchFilter(sec, f.Key, v)
			if neg {
				if hit {
					return false
				}
				continue
			}
			anyPlain = true
			plainHit = plainHit || hit
		}
		if anyPlain && !plainHit {
			return false
		}
	}
	return true
}

func matchFilter(sec *store.Secret, key, v string) bool {
	switch key {
	case "name":
		return strings.HasPrefix(sec.Name, v)
	case "description":
		return wordsMatch(words(v), words(sec.Description))
	case "tag-key":
		return slices.ContainsFunc(sec.Tags, func(t store.Tag) bool { return strings.HasPrefix(t.Key, v) })
	case "tag-value":
		return slices.ContainsFunc(sec.Tags, func(t store.Tag) bool { return strings.HasPrefix(t.Value, v) })
	case "primary-region":
		return strings.HasPrefix(sec.PrimaryRegion, v)
	case "owning-service":
		return strings.HasPrefix(sec.OwningService, v)
	case "all":
		attrs := words(sec.Name)
		attrs = append(attrs, words(sec.Description)...)
		for _, t := range sec.Tags {
			attrs = append(attrs, words(t.Key)...)
			attrs = append(attrs, words(t.Value)...)
		}
		return wordsMatch(words(v), attrs)
	}
	return false
}

// wordsMatch reports whether every search word begins some attribute word.
func wordsMatch(search, attrs []string) bool {
	if len(search) == 0 {
		return true
	}
	for _, w := range search {
		if !slices.ContainsFunc(attrs, func(a string) bool { return strings.HasPrefix(a, w) }) {
			return false
		}
	}
	return true
}

// words splits s as Secrets Manager's search does: at every change from
// upper to lower case, between letters and digits, and at punctuation;
// words are lower-cased.
func words(s string) []string {
	var out []string
	var cur []rune
	class := func(r rune) int {
		switch {
		case unicode.IsUpper(r):
			return 1
		case unicode.IsLower(r):
			return 2
		case unicode.IsDigit(r):
			return 3
		}
		return 0
	}
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	prev := 0
	for _, r := range s {
		k := class(r)
		switch {
		case k == 0:
			flush()
		case prev == 2 && k == 1, prev == 3 && k != 3, prev != 3 && prev != 0 && k == 3:
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
		prev = k
	}
	flush()
	return out
}

// ---- ListSecretVersionIds

type listVersionsInput struct {
	SecretID          string `json:"SecretId"`
	MaxResults        *int   `json:"MaxResults"`
	NextToken         string `json:"NextToken"`
	IncludeDeprecated bool   `json:"IncludeDeprecated"`
	found
}

func (in *listVersionsInput) secretID() string { return in.SecretID }

func (in *listVersionsInput) Validate() error {
	switch {
	case !validSecretID(in.SecretID):
		return invalidParam("SecretId must be between 1 and %d characters.", maxIDLen)
	case in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > 100):
		return invalidParam("MaxResults must be between 1 and 100.")
	case len(in.NextToken) > 4096:
		return invalidParam("Invalid NextToken.")
	}
	return nil
}

type versionEntry struct {
	VersionID        string   `json:"VersionId"`
	VersionStages    []string `json:"VersionStages,omitempty"`
	LastAccessedDate *epoch   `json:"LastAccessedDate,omitempty"`
	CreatedDate      epoch    `json:"CreatedDate"`
	KmsKeyIDs        []string `json:"KmsKeyIds,omitempty"`
}

type listVersionsOutput struct {
	ARN       string         `json:"ARN"`
	Name      string         `json:"Name"`
	Versions  []versionEntry `json:"Versions"`
	NextToken string         `json:"NextToken,omitempty"`
}

func (s *Service) listSecretVersionIDs(ctx context.Context, _ *api.Call, in *listVersionsInput) (any, error) {
	sec, err := in.get()
	if err != nil {
		return nil, err
	}
	vs, err := s.cfg.Store.ListSecretVersions(ctx, sec.ARN)
	if err != nil {
		return nil, storeErr(err)
	}
	entries := make([]versionEntry, 0, len(vs))
	for _, v := range vs {
		if len(v.Stages) == 0 && !in.IncludeDeprecated {
			continue
		}
		entries = append(entries, versionEntry{VersionID: v.VersionID, VersionStages: v.Stages,
			LastAccessedDate: optEpoch(v.LastAccessedAt), CreatedDate: epoch(v.CreatedAt), KmsKeyIDs: kmsKeyIDs(v.KMSKeyARN)})
	}
	off := 0
	if in.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		if err != nil || len(b) != 8 {
			return nil, invalidParam("Invalid NextToken.")
		}
		off = int(min(binary.BigEndian.Uint64(b), uint64(len(entries))))
	}
	n := 100
	if in.MaxResults != nil {
		n = *in.MaxResults
	}
	end := min(off+n, len(entries))
	out := &listVersionsOutput{ARN: sec.ARN, Name: sec.Name, Versions: entries[off:end]}
	if end < len(entries) {
		out.NextToken = base64.RawURLEncoding.EncodeToString(binary.BigEndian.AppendUint64(nil, uint64(end)))
	}
	return out, nil
}

// kmsKeyIDs lists a version's key; a rotation's AWSPENDING placeholder
// has none yet.
func kmsKeyIDs(arn string) []string {
	if arn == "" {
		return nil
	}
	return []string{arn}
}
