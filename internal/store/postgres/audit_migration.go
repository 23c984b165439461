package postgres

import "github.com/bulwark-security/bulwark/internal/store/migrate"

func init() { migrations = migrate.Insert(migrations, auditMigration) }

// auditMigration adds the tamper-evident audit trail, as the SQLite
// migration of the same version does (package auditsql holds the queries).
// Each server process writes its own hash chain, so concurrent servers never
// contend on a chain head; the digest chain is global and serialised by the
// row lock of audit_digest_head.
var auditMigration = migrate.Migration{
	Version: 6,
	Name:    "audit trail: hash-chained records, resources index, signed digests",
	SQL: `
CREATE TABLE audit_records (
	chain_id      text COLLATE "C" NOT NULL,
	seq           bigint      NOT NULL,
	event_id      text COLLATE "C" NOT NULL,
	account_id    text COLLATE "C" NOT NULL,
	event_time    timestamptz NOT NULL,
	event_name    text COLLATE "C" NOT NULL,
	event_source  text COLLATE "C" NOT NULL,
	read_only     integer     NOT NULL,
	username      text COLLATE "C" NOT NULL,
	access_key_id text COLLATE "C" NOT NULL,
	record        bytea       NOT NULL,
	prev_hash     bytea       NOT NULL,
	hash          bytea       NOT NULL,
	PRIMARY KEY (chain_id, seq)
);
-- One index beyond the key: every secondary index costs each API call a
-- B-tree insert, and lookups (CloudTrail's LookupEvents) walk one
-- account's records newest first through this one and filter.
CREATE INDEX audit_records_by_time ON audit_records (account_id, event_time, chain_id, seq);

CREATE TABLE audit_resources (
	chain_id      text COLLATE "C" NOT NULL,
	seq           bigint NOT NULL,
	resource_type text COLLATE "C" NOT NULL,
	resource_name text COLLATE "C" NOT NULL,
	PRIMARY KEY (chain_id, seq, resource_type, resource_name)
);

CREATE TABLE audit_digests (
	seq        bigint      NOT NULL PRIMARY KEY,
	chain_id   text COLLATE "C" NOT NULL,
	created_at timestamptz NOT NULL,
	body       bytea       NOT NULL,
	signature  bytea       NOT NULL
);

CREATE TABLE audit_digest_head (
	id        integer NOT NULL PRIMARY KEY,
	n         bigint  NOT NULL,
	last_hash bytea   NOT NULL
);
`,
	Seed: `INSERT INTO audit_digest_head (id, n, last_hash) VALUES (1, 0, '\x')`,
}
