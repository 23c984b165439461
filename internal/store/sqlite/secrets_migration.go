package sqlite

import "github.com/bulwark-security/bulwark/internal/store/migrate"

func init() { migrations = migrate.Insert(migrations, secretsMigration) }

// secretsMigration adds Secrets Manager's tables (package secretsql holds the
// queries). A secret's values live in secret_versions as KMS-encrypted data
// keys and AES-GCM ciphertext only; stage labels are rows of their own so a
// label can sit on at most one version (the primary key says so).
var secretsMigration = migrate.Migration{
	Version: 3,
	Name:    "secrets manager: secrets, versions, stage labels",
	SQL: `
CREATE TABLE secrets (
	arn                 TEXT    NOT NULL PRIMARY KEY,
	account_id          TEXT    NOT NULL REFERENCES accounts (id),
	region              TEXT    NOT NULL,
	name                TEXT    NOT NULL,
	description         TEXT    NOT NULL DEFAULT '',
	kms_key_id          TEXT    NOT NULL DEFAULT '',
	tags                TEXT    NOT NULL DEFAULT '[]',
	resource_policy     TEXT    NOT NULL DEFAULT '',
	created_at          INTEGER NOT NULL,
	last_changed_at     INTEGER NOT NULL,
	last_accessed_at    INTEGER,
	deleted_at          INTEGER,
	purge_at            INTEGER,
	rotation_enabled    INTEGER NOT NULL DEFAULT 0,
	rotation_lambda_arn TEXT    NOT NULL DEFAULT '',
	rotation_after_days INTEGER NOT NULL DEFAULT 0,
	rotation_duration   TEXT    NOT NULL DEFAULT '',
	rotation_schedule   TEXT    NOT NULL DEFAULT '',
	last_rotated_at     INTEGER,
	next_rotation_at    INTEGER,
	owning_service      TEXT    NOT NULL DEFAULT '',
	primary_region      TEXT    NOT NULL DEFAULT '',
	rev                 INTEGER NOT NULL,
	next_seq            INTEGER NOT NULL DEFAULT 1,
	UNIQUE (account_id, region, name)
) STRICT, WITHOUT ROWID;
CREATE INDEX secrets_by_purge ON secrets (purge_at) WHERE purge_at IS NOT NULL;
CREATE INDEX secrets_by_rotation ON secrets (next_rotation_at) WHERE next_rotation_at IS NOT NULL;

CREATE TABLE secret_versions (
	secret_arn       TEXT    NOT NULL REFERENCES secrets (arn) ON DELETE CASCADE,
	version_id       TEXT    NOT NULL,
	seq              INTEGER NOT NULL,
	created_at       INTEGER NOT NULL,
	last_accessed_at INTEGER,
	kms_key_arn      TEXT    NOT NULL,
	encrypted_key    BLOB    NOT NULL,
	ciphertext       BLOB    NOT NULL,
	is_binary        INTEGER NOT NULL,
	PRIMARY KEY (secret_arn, version_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX secret_versions_by_seq ON secret_versions (secret_arn, seq);

CREATE TABLE secret_version_stages (
	secret_arn TEXT NOT NULL,
	stage      TEXT NOT NULL,
	version_id TEXT NOT NULL,
	PRIMARY KEY (secret_arn, stage),
	FOREIGN KEY (secret_arn, version_id) REFERENCES secret_versions (secret_arn, version_id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX secret_version_stages_by_version ON secret_version_stages (secret_arn, version_id);
`,
}
