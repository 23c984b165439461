// Package sqlstore gathers the parts of the store written once, in SQL that
// SQLite and PostgreSQL both accept (iamsql, kmssql, secretsql, ...), over a
// backend each store package provides. A backend's Store embeds Parts, so
// the parts' methods are its own and no backend repeats them.
package sqlstore

import (
	"github.com/bulwark-security/bulwark/internal/store/auditsql"
	"github.com/bulwark-security/bulwark/internal/store/detectsql"
	"github.com/bulwark-security/bulwark/internal/store/findingsql"
	"github.com/bulwark-security/bulwark/internal/store/iamsql"
	"github.com/bulwark-security/bulwark/internal/store/kmssql"
	"github.com/bulwark-security/bulwark/internal/store/notifysql"
	"github.com/bulwark-security/bulwark/internal/store/rotationsql"
	"github.com/bulwark-security/bulwark/internal/store/secretsql"
	"github.com/bulwark-security/bulwark/internal/store/workloadsql"
)

// Parts are the store parts over one backend.
type Parts struct {
	*iamsql.IAM
	*kmssql.KMS
	secretsql.Secrets
	notifysql.Store
	rotationsql.Rotation
	*workloadsql.Workloads
	*auditsql.Audit
	*findingsql.Findings
	*detectsql.Counts
}

// New returns the parts over b.
func New(b iamsql.Backend) Parts {
	return Parts{
		IAM:       iamsql.New(b),
		KMS:       kmssql.New(b),
		Secrets:   secretsql.New(b),
		Store:     notifysql.New(b),
		Rotation:  rotationsql.New(b),
		Workloads: workloadsql.New(b),
		Audit:     auditsql.New(b),
		Findings:  findingsql.New(b),
		Counts:    detectsql.New(b),
	}
}
