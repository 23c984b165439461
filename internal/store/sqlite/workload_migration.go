package sqlite

import "github.com/bulwark-security/bulwark/internal/store/migrate"

func init() { migrations = migrate.Insert(migrations, workloadMigration) }

// workloadMigration adds workload identity's tables (package workloadsql
// holds the queries). Join tokens and agent tokens are stored only as
// SHA-256 hashes of 256-bit random values: a copy of the database cannot
// attest anything. A workload that is revoked keeps its row (with
// revoked_at) so its name stays taken and the listing shows it.
var workloadMigration = migrate.Migration{
	Version: 8,
	Name:    "workload identity: workloads, join tokens, agent tokens",
	SQL: `
CREATE TABLE workloads (
	arn         TEXT    NOT NULL PRIMARY KEY,
	account_id  TEXT    NOT NULL REFERENCES accounts (id),
	region      TEXT    NOT NULL,
	name        TEXT    NOT NULL,
	workload_id TEXT    NOT NULL UNIQUE,
	role_arn    TEXT    NOT NULL,
	selectors   TEXT    NOT NULL DEFAULT '[]',
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	revoked_at  INTEGER,
	UNIQUE (account_id, region, name)
) STRICT, WITHOUT ROWID;

CREATE TABLE workload_join_tokens (
	token_hash   BLOB    NOT NULL PRIMARY KEY,
	workload_arn TEXT    NOT NULL REFERENCES workloads (arn) ON DELETE CASCADE,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	used_at      INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX workload_join_tokens_by_workload ON workload_join_tokens (workload_arn);

CREATE TABLE workload_agent_tokens (
	token_hash   BLOB    NOT NULL PRIMARY KEY,
	workload_arn TEXT    NOT NULL REFERENCES workloads (arn) ON DELETE CASCADE,
	attestation  TEXT    NOT NULL,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX workload_agent_tokens_by_workload ON workload_agent_tokens (workload_arn);
`,
}
