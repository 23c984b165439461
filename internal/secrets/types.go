package secrets

import (
	"sort"
	"strconv"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/store"
)

// epoch is a JSON 1.1 timestamp: seconds since the epoch, with fractions.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	ms := time.Time(e).UnixMilli()
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64), nil
}

// optEpoch is nil for the zero time, so the field is left out.
func optEpoch(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

type rotationRules struct {
	AutomaticallyAfterDays int64  `json:"AutomaticallyAfterDays,omitempty"`
	Duration               string `json:"Duration,omitempty"`
	ScheduleExpression     string `json:"ScheduleExpression,omitempty"`
}

// secretMeta is DescribeSecret's result and, with SecretVersionsToStages,
// ListSecrets' SecretListEntry.
type secretMeta struct {
	ARN                    string              `json:"ARN"`
	Name                   string              `json:"Name"`
	Description            string              `json:"Description,omitempty"`
	KmsKeyID               string              `json:"KmsKeyId,omitempty"`
	RotationEnabled        *bool               `json:"RotationEnabled,omitempty"`
	RotationLambdaARN      string              `json:"RotationLambdaARN,omitempty"`
	RotationRules          *rotationRules      `json:"RotationRules,omitempty"`
	LastRotatedDate        *epoch              `json:"LastRotatedDate,omitempty"`
	LastChangedDate        *epoch              `json:"LastChangedDate,omitempty"`
	LastAccessedDate       *epoch              `json:"LastAccessedDate,omitempty"`
	DeletedDate            *epoch              `json:"DeletedDate,omitempty"`
	NextRotationDate       *epoch              `json:"NextRotationDate,omitempty"`
	Tags                   []api.Tag           `json:"Tags,omitempty"`
	VersionIdsToStages     map[string][]string `json:"VersionIdsToStages,omitempty"`
	SecretVersionsToStages map[string][]string `json:"SecretVersionsToStages,omitempty"`
	OwningService          string              `json:"OwningService,omitempty"`
	CreatedDate            *epoch              `json:"CreatedDate,omitempty"`
	PrimaryRegion          string              `json:"PrimaryRegion,omitempty"`
}

func metaOf(sec *store.Secret) secretMeta {
	m := secretMeta{ARN: sec.ARN, Name: sec.Name, Description: sec.Description, KmsKeyID: sec.KMSKeyID,
		RotationLambdaARN: sec.RotationLambdaARN,
		LastRotatedDate:   optEpoch(sec.LastRotatedAt), LastChangedDate: optEpoch(sec.LastChangedAt),
		LastAccessedDate: optEpoch(sec.LastAccessedAt), DeletedDate: optEpoch(sec.DeletedAt),
		NextRotationDate: optEpoch(sec.NextRotationAt), OwningService: sec.OwningService,
		CreatedDate: optEpoch(sec.CreatedAt), PrimaryRegion: sec.PrimaryRegion}
	rules := sec.RotationAfterDays != 0 || sec.RotationDuration != "" || sec.RotationSchedule != ""
	if sec.RotationEnabled || rules || sec.RotationLambdaARN != "" {
		// Shown once rotation was ever configured (false after
		// CancelRotateSecret), left out before, as AWS does.
		on := sec.RotationEnabled
		m.RotationEnabled = &on
	}
	if rules {
		m.RotationRules = &rotationRules{AutomaticallyAfterDays: sec.RotationAfterDays,
			Duration: sec.RotationDuration, ScheduleExpression: sec.RotationSchedule}
	}
	for _, t := range sec.Tags {
		m.Tags = append(m.Tags, api.Tag{Key: t.Key, Value: t.Value})
	}
	if m.Tags == nil && len(sec.Tags) == 0 {
		m.Tags = []api.Tag{}
	}
	return m
}

// stageMap maps the versions that carry a label to their labels.
func stageMap(vs []store.SecretVersion) map[string][]string {
	m := make(map[string][]string)
	for _, v := range vs {
		if len(v.Stages) > 0 {
			st := append([]string(nil), v.Stages...)
			sort.Strings(st)
			m[v.VersionID] = st
		}
	}
	return m
}
