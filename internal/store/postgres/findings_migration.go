package postgres

import "github.com/bulwark-security/bulwark/internal/store/migrate"

func init() { migrations = migrate.Insert(migrations, findingsMigration) }

// findingsMigration adds the findings hub's table, as the SQLite migration
// of the same version does (package findingsql holds the queries). doc is
// the whole finding in the AWS Security Finding Format (JSON, kept as text
// so it round-trips byte for byte); rev makes updates compare-and-swap.
var findingsMigration = migrate.Migration{
	Version: 7,
	Name:    "findings: Security Hub findings (ASFF)",
	SQL: `
CREATE TABLE findings (
	product_arn     text COLLATE "C" NOT NULL,
	id              text COLLATE "C" NOT NULL,
	account_id      text COLLATE "C" NOT NULL,
	generator_id    text COLLATE "C" NOT NULL,
	severity        integer     NOT NULL,
	workflow_status text COLLATE "C" NOT NULL,
	record_state    text COLLATE "C" NOT NULL,
	title           text COLLATE "C" NOT NULL,
	created_at      timestamptz NOT NULL,
	updated_at      timestamptz NOT NULL,
	rev             bigint      NOT NULL,
	doc             text        NOT NULL,
	PRIMARY KEY (product_arn, id)
);
CREATE INDEX findings_by_updated ON findings (updated_at, product_arn, id);
CREATE INDEX findings_by_created ON findings (created_at, product_arn, id);
CREATE INDEX findings_by_severity ON findings (severity, product_arn, id);
CREATE INDEX findings_by_account ON findings (account_id, updated_at);
`,
}
