package sqlite

import "github.com/bulwark-security/bulwark/internal/store/migrate"

func init() { migrations = migrate.Insert(migrations, findingsMigration) }

// findingsMigration adds the findings hub's table (package findingsql holds
// the queries). doc is the whole finding in the AWS Security Finding Format
// (JSON); the other columns copy the fields GetFindings filters and sorts on
// most, so those run on indexes. rev is bumped by every write: updates are
// compare-and-swap on it, so concurrent writers (detectors on several
// servers, BatchUpdateFindings) never lose each other's changes.
var findingsMigration = migrate.Migration{
	Version: 7,
	Name:    "findings: Security Hub findings (ASFF)",
	SQL: `
CREATE TABLE findings (
	product_arn     TEXT    NOT NULL,
	id              TEXT    NOT NULL,
	account_id      TEXT    NOT NULL,
	generator_id    TEXT    NOT NULL,
	severity        INTEGER NOT NULL,
	workflow_status TEXT    NOT NULL,
	record_state    TEXT    NOT NULL,
	title           TEXT    NOT NULL,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	rev             INTEGER NOT NULL,
	doc             TEXT    NOT NULL,
	PRIMARY KEY (product_arn, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX findings_by_updated ON findings (updated_at, product_arn, id);
CREATE INDEX findings_by_created ON findings (created_at, product_arn, id);
CREATE INDEX findings_by_severity ON findings (severity, product_arn, id);
CREATE INDEX findings_by_account ON findings (account_id, updated_at);
`,
}
