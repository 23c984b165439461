package secrets

import (
	"context"
	"slices"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/store"
)

type updateStageInput struct {
	SecretID            string `json:"SecretId"`
	VersionStage        string `json:"VersionStage"`
	RemoveFromVersionID string `json:"RemoveFromVersionId"`
	MoveToVersionID     string `json:"MoveToVersionId"`
	found
}

func (in *updateStageInput) secretID() string { return in.SecretID }

func (in *updateStageInput) Validate() error {
	switch {
	case !validSecretID(in.SecretID):
		return invalidParam("SecretId must be between 1 and %d characters.", maxIDLen)
	case !validStage(in.VersionStage):
		return invalidParam("VersionStage must be between 1 and %d characters.", maxStageLen)
	case in.RemoveFromVersionID != "" && !validToken(in.RemoveFromVersionID):
		return invalidParam("RemoveFromVersionId must be between 32 and 64 characters.")
	case in.MoveToVersionID != "" && !validToken(in.MoveToVersionID):
		return invalidParam("MoveToVersionId must be between 32 and 64 characters.")
	case in.RemoveFromVersionID == "" && in.MoveToVersionID == "":
		return invalidParam("You must specify MoveToVersionId, RemoveFromVersionId, or both.")
	}
	return nil
}

func (in *updateStageInput) RequestContext(*api.Call) map[string][]string {
	m := in.context()
	m[keyVersionStage] = []string{in.VersionStage}
	return m
}

type arnNameOutput struct {
	ARN  string `json:"ARN"`
	Name string `json:"Name"`
}

// updateSecretVersionStage moves or removes a staging label with AWS's
// rules: a label attached elsewhere can only move if RemoveFromVersionId
// names where it is; AWSCURRENT cannot be removed without a destination,
// and moving it gives the old version AWSPREVIOUS.
func (s *Service) updateSecretVersionStage(ctx context.Context, _ *api.Call, in *updateStageInput) (any, error) {
	sec, err := in.live()
	if err != nil {
		return nil, err
	}
	if err := s.moveStage(ctx, sec.ARN, in.VersionStage, in.RemoveFromVersionID, in.MoveToVersionID); err != nil {
		return nil, err
	}
	return &arnNameOutput{ARN: sec.ARN, Name: sec.Name}, nil
}

func (s *Service) moveStage(ctx context.Context, arn, stage, removeFrom, moveTo string) error {
	vs, err := s.cfg.Store.ListSecretVersions(ctx, arn)
	if err != nil {
		return storeErr(err)
	}
	holder := ""
	var target *store.SecretVersion
	for i := range vs {
		if slices.Contains(vs[i].Stages, stage) {
			holder = vs[i].VersionID
		}
		if vs[i].VersionID == moveTo {
			target = &vs[i]
		}
	}
	if removeFrom != "" && holder != removeFrom {
		if !slices.ContainsFunc(vs, func(v store.SecretVersion) bool { return v.VersionID == removeFrom }) {
			return errVersionNotFound("VersionId", removeFrom)
		}
		return invalidParam("When you move staging label %s, if you specify RemoveFromVersionId, it must be set to the version that currently has the staging label %s.", stage, stage)
	}
	if moveTo == "" {
		if stage == store.StageCurrent {
			return invalidParam("You can't remove the staging label AWSCURRENT from a version without moving it to another version. Specify MoveToVersionId.")
		}
		return s.casStage(ctx, arn, stage, holder, "")
	}
	if target == nil {
		return errVersionNotFound("VersionId", moveTo)
	}
	if holder == moveTo {
		return nil // already there
	}
	if holder != "" && removeFrom == "" {
		return invalidParam("The parameter RemoveFromVersionId can't be empty. Staging label %s is currently attached to version %s, so you must explicitly reference that version in RemoveFromVersionId.", stage, holder)
	}
	if len(target.Stages) >= maxStagesPerVer {
		return fail(codeLimit, "A version can have at most %d staging labels.", maxStagesPerVer)
	}
	return s.casStage(ctx, arn, stage, holder, moveTo)
}

func (s *Service) casStage(ctx context.Context, arn, stage, from, to string) error {
	if err := s.cfg.Store.MoveSecretStage(ctx, arn, stage, from, to, s.now()); err != nil {
		return storeErr(err)
	}
	return nil
}
