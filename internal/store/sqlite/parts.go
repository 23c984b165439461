package sqlite

import "github.com/bulwark-security/bulwark/internal/store"

// Every part of the store beyond accounts and access keys is implemented
// once, in package sqlstore's parts (iamsql, kmssql, secretsql, notifysql,
// rotationsql, workloadsql, auditsql, findingsql), over this package's
// backend (iam.go); Store embeds them.
var (
	_ store.IAM          = (*Store)(nil)
	_ store.KMS          = (*Store)(nil)
	_ store.Secrets      = (*Store)(nil)
	_ store.SNS          = (*Store)(nil)
	_ store.Response     = (*Store)(nil)
	_ store.Rotation     = (*Store)(nil)
	_ store.Workloads    = (*Store)(nil)
	_ store.Audit        = (*Store)(nil)
	_ store.Findings     = (*Store)(nil)
	_ store.DetectCounts = (*Store)(nil)
)
