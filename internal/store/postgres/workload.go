package postgres

import (
	"context"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/workloadsql"
)

// The workload identity part of the store is package workloadsql's, over
// the same backend as the IAM part.

var _ store.Workloads = (*Store)(nil)

func (s *Store) workloads() *workloadsql.Workloads { return workloadsql.New(backend{s}) }

// CreateWorkload implements store.Workloads.
func (s *Store) CreateWorkload(ctx context.Context, w store.Workload) error {
	return s.workloads().CreateWorkload(ctx, w)
}

// GetWorkload implements store.Workloads.
func (s *Store) GetWorkload(ctx context.Context, arn string) (store.Workload, error) {
	return s.workloads().GetWorkload(ctx, arn)
}

// ListWorkloads implements store.Workloads.
func (s *Store) ListWorkloads(ctx context.Context, account, region, marker string, max int) ([]store.Workload, bool, error) {
	return s.workloads().ListWorkloads(ctx, account, region, marker, max)
}

// UpdateWorkload implements store.Workloads.
func (s *Store) UpdateWorkload(ctx context.Context, arn, roleARN string, selectors []store.Tag, at time.Time) error {
	return s.workloads().UpdateWorkload(ctx, arn, roleARN, selectors, at)
}

// RevokeWorkload implements store.Workloads.
func (s *Store) RevokeWorkload(ctx context.Context, arn string, at time.Time) error {
	return s.workloads().RevokeWorkload(ctx, arn, at)
}

// DeleteWorkload implements store.Workloads.
func (s *Store) DeleteWorkload(ctx context.Context, arn string) error {
	return s.workloads().DeleteWorkload(ctx, arn)
}

// CreateJoinToken implements store.Workloads.
func (s *Store) CreateJoinToken(ctx context.Context, t store.JoinToken) error {
	return s.workloads().CreateJoinToken(ctx, t)
}

// RedeemJoinToken implements store.Workloads.
func (s *Store) RedeemJoinToken(ctx context.Context, hash []byte, now time.Time, agent store.AgentToken) (store.Workload, error) {
	return s.workloads().RedeemJoinToken(ctx, hash, now, agent)
}

// CreateAgentToken implements store.Workloads.
func (s *Store) CreateAgentToken(ctx context.Context, t store.AgentToken) error {
	return s.workloads().CreateAgentToken(ctx, t)
}

// UseAgentToken implements store.Workloads.
func (s *Store) UseAgentToken(ctx context.Context, hash []byte, now, extendTo time.Time) (store.Workload, store.AgentToken, error) {
	return s.workloads().UseAgentToken(ctx, hash, now, extendTo)
}

// DeleteExpiredWorkloadTokens implements store.Workloads.
func (s *Store) DeleteExpiredWorkloadTokens(ctx context.Context, before time.Time) (int64, error) {
	return s.workloads().DeleteExpiredWorkloadTokens(ctx, before)
}
