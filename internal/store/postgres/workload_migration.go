package postgres

import "github.com/bulwark-security/bulwark/internal/store/migrate"

func init() { migrations = migrate.Insert(migrations, workloadMigration) }

// workloadMigration adds workload identity's tables, as the SQLite
// migration of the same version does (package workloadsql holds the
// queries). Tokens are stored only as SHA-256 hashes.
var workloadMigration = migrate.Migration{
	Version: 8,
	Name:    "workload identity: workloads, join tokens, agent tokens",
	SQL: `
CREATE TABLE workloads (
	arn         text COLLATE "C" NOT NULL PRIMARY KEY,
	account_id  text COLLATE "C" NOT NULL REFERENCES accounts (id),
	region      text COLLATE "C" NOT NULL,
	name        text COLLATE "C" NOT NULL,
	workload_id text COLLATE "C" NOT NULL UNIQUE,
	role_arn    text COLLATE "C" NOT NULL,
	selectors   text        NOT NULL DEFAULT '[]',
	created_at  timestamptz NOT NULL,
	updated_at  timestamptz NOT NULL,
	revoked_at  timestamptz,
	UNIQUE (account_id, region, name)
);

CREATE TABLE workload_join_tokens (
	token_hash   bytea       NOT NULL PRIMARY KEY,
	workload_arn text COLLATE "C" NOT NULL REFERENCES workloads (arn) ON DELETE CASCADE,
	created_at   timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL,
	used_at      timestamptz
);
CREATE INDEX workload_join_tokens_by_workload ON workload_join_tokens (workload_arn);

CREATE TABLE workload_agent_tokens (
	token_hash   bytea       NOT NULL PRIMARY KEY,
	workload_arn text COLLATE "C" NOT NULL REFERENCES workloads (arn) ON DELETE CASCADE,
	attestation  text        NOT NULL,
	created_at   timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL
);
CREATE INDEX workload_agent_tokens_by_workload ON workload_agent_tokens (workload_arn);
`,
}
