package sqlite

import "github.com/bulwark-security/bulwark/internal/store/migrate"

func init() { migrations = migrate.Insert(migrations, auditMigration) }

// auditMigration adds the tamper-evident audit trail (package auditsql holds
// the queries). audit_records holds one CloudTrail record per API call,
// hash-chained per chain (one chain per server process): record is the
// canonical JSON that is hashed, the other columns are lookup indexes that
// `bulwark audit verify` checks against it. audit_digests is one global,
// signed chain of digests; audit_digest_head is the row whose update
// serialises digest writers across servers. Records are rowid tables (they
// are large), the small tables WITHOUT ROWID.
var auditMigration = migrate.Migration{
	Version: 6,
	Name:    "audit trail: hash-chained records, resources index, signed digests",
	SQL: `
CREATE TABLE audit_records (
	chain_id      TEXT    NOT NULL,
	seq           INTEGER NOT NULL,
	event_id      TEXT    NOT NULL,
	account_id    TEXT    NOT NULL,
	event_time    INTEGER NOT NULL,
	event_name    TEXT    NOT NULL,
	event_source  TEXT    NOT NULL,
	read_only     INTEGER NOT NULL,
	username      TEXT    NOT NULL,
	access_key_id TEXT    NOT NULL,
	record        BLOB    NOT NULL,
	prev_hash     BLOB    NOT NULL,
	hash          BLOB    NOT NULL,
	PRIMARY KEY (chain_id, seq)
) STRICT;
-- One index beyond the key: every secondary index costs each API call a
-- B-tree insert, and lookups (CloudTrail's LookupEvents) walk one
-- account's records newest first through this one and filter.
CREATE INDEX audit_records_by_time ON audit_records (account_id, event_time, chain_id, seq);

CREATE TABLE audit_resources (
	chain_id      TEXT    NOT NULL,
	seq           INTEGER NOT NULL,
	resource_type TEXT    NOT NULL,
	resource_name TEXT    NOT NULL,
	PRIMARY KEY (chain_id, seq, resource_type, resource_name)
) STRICT, WITHOUT ROWID;

CREATE TABLE audit_digests (
	seq        INTEGER NOT NULL PRIMARY KEY,
	chain_id   TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	body       BLOB    NOT NULL,
	signature  BLOB    NOT NULL
) STRICT;

CREATE TABLE audit_digest_head (
	id        INTEGER NOT NULL PRIMARY KEY,
	n         INTEGER NOT NULL,
	last_hash BLOB    NOT NULL
) STRICT, WITHOUT ROWID;
`,
	Seed: `INSERT INTO audit_digest_head (id, n, last_hash) VALUES (1, 0, x'')`,
}
