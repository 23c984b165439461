package sqlite

import "github.com/bulwark-security/bulwark/internal/store/migrate"

func init() { migrations = migrate.Insert(migrations, kmsMigration) }

// kmsMigration adds the KMS tables (package kmssql holds the queries). Key
// material is sealed by the keyring before it reaches kms_key_material;
// gen is bumped by every change to a key, its policy or its grants, so
// servers can cache compiled policies by (key_id, gen).
var kmsMigration = migrate.Migration{
	Version: 4,
	Name:    "kms: keys, key material versions, aliases, grants",
	SQL: `
CREATE TABLE kms_keys (
	key_id               TEXT    NOT NULL PRIMARY KEY,
	account_id           TEXT    NOT NULL REFERENCES accounts (id),
	region               TEXT    NOT NULL,
	arn                  TEXT    NOT NULL UNIQUE,
	description          TEXT    NOT NULL DEFAULT '',
	key_spec             TEXT    NOT NULL,
	key_usage            TEXT    NOT NULL,
	origin               TEXT    NOT NULL,
	manager              TEXT    NOT NULL,
	state                TEXT    NOT NULL,
	created_at           INTEGER NOT NULL,
	deletion_date        INTEGER,
	pending_window_days  INTEGER NOT NULL DEFAULT 0,
	policy               TEXT    NOT NULL,
	tags                 TEXT    NOT NULL DEFAULT '[]',
	rotation_period_days INTEGER NOT NULL DEFAULT 0,
	next_rotation_at     INTEGER,
	current_version      INTEGER NOT NULL,
	public_key           BLOB    NOT NULL,
	gen                  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX kms_keys_by_account ON kms_keys (account_id, region, created_at, key_id);
CREATE INDEX kms_keys_by_rotation ON kms_keys (next_rotation_at) WHERE next_rotation_at IS NOT NULL;
CREATE INDEX kms_keys_by_deletion ON kms_keys (deletion_date) WHERE deletion_date IS NOT NULL;

CREATE TABLE kms_key_material (
	key_id        TEXT    NOT NULL REFERENCES kms_keys (key_id),
	version       INTEGER NOT NULL,
	sealed        BLOB    NOT NULL,
	rotation_type TEXT    NOT NULL DEFAULT '',
	created_at    INTEGER NOT NULL,
	PRIMARY KEY (key_id, version)
) STRICT, WITHOUT ROWID;

CREATE TABLE kms_aliases (
	account_id TEXT    NOT NULL REFERENCES accounts (id),
	region     TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	key_id     TEXT    NOT NULL REFERENCES kms_keys (key_id),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (account_id, region, name)
) STRICT, WITHOUT ROWID;
CREATE INDEX kms_aliases_by_key ON kms_aliases (key_id, name);

CREATE TABLE kms_grants (
	grant_id        TEXT    NOT NULL PRIMARY KEY,
	key_id          TEXT    NOT NULL REFERENCES kms_keys (key_id),
	name            TEXT    NOT NULL DEFAULT '',
	grantee         TEXT    NOT NULL,
	retiring        TEXT    NOT NULL DEFAULT '',
	issuing_account TEXT    NOT NULL,
	operations      TEXT    NOT NULL,
	constraints     TEXT    NOT NULL DEFAULT '',
	token_hash      BLOB    NOT NULL UNIQUE,
	created_at      INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX kms_grants_by_key ON kms_grants (key_id, created_at, grant_id);
CREATE INDEX kms_grants_by_retiring ON kms_grants (retiring, created_at, grant_id);
`,
}
