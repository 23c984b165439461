package postgres

import "github.com/bulwark-security/bulwark/internal/store/migrate"

func init() { migrations = migrate.Insert(migrations, secretsMigration) }

// secretsMigration adds Secrets Manager's tables, as the SQLite migration of
// the same version does (package secretsql holds the queries). Values are
// stored only as KMS-encrypted data keys and AES-GCM ciphertext. Flags are
// integers so both backends run the same SQL.
var secretsMigration = migrate.Migration{
	Version: 3,
	Name:    "secrets manager: secrets, versions, stage labels",
	SQL: `
CREATE TABLE secrets (
	arn                 text COLLATE "C" NOT NULL PRIMARY KEY,
	account_id          text COLLATE "C" NOT NULL REFERENCES accounts (id),
	region              text COLLATE "C" NOT NULL,
	name                text COLLATE "C" NOT NULL,
	description         text        NOT NULL DEFAULT '',
	kms_key_id          text        NOT NULL DEFAULT '',
	tags                text        NOT NULL DEFAULT '[]',
	resource_policy     text        NOT NULL DEFAULT '',
	created_at          timestamptz NOT NULL,
	last_changed_at     timestamptz NOT NULL,
	last_accessed_at    timestamptz,
	deleted_at          timestamptz,
	purge_at            timestamptz,
	rotation_enabled    integer     NOT NULL DEFAULT 0,
	rotation_lambda_arn text        NOT NULL DEFAULT '',
	rotation_after_days bigint      NOT NULL DEFAULT 0,
	rotation_duration   text        NOT NULL DEFAULT '',
	rotation_schedule   text        NOT NULL DEFAULT '',
	last_rotated_at     timestamptz,
	next_rotation_at    timestamptz,
	owning_service      text        NOT NULL DEFAULT '',
	primary_region      text        NOT NULL DEFAULT '',
	rev                 bigint      NOT NULL,
	next_seq            bigint      NOT NULL DEFAULT 1,
	UNIQUE (account_id, region, name)
);
CREATE INDEX secrets_by_purge ON secrets (purge_at) WHERE purge_at IS NOT NULL;
CREATE INDEX secrets_by_rotation ON secrets (next_rotation_at) WHERE next_rotation_at IS NOT NULL;

CREATE TABLE secret_versions (
	secret_arn       text COLLATE "C" NOT NULL REFERENCES secrets (arn) ON DELETE CASCADE,
	version_id       text COLLATE "C" NOT NULL,
	seq              bigint      NOT NULL,
	created_at       timestamptz NOT NULL,
	last_accessed_at timestamptz,
	kms_key_arn      text        NOT NULL,
	encrypted_key    bytea       NOT NULL,
	ciphertext       bytea       NOT NULL,
	is_binary        integer     NOT NULL,
	PRIMARY KEY (secret_arn, version_id)
);
CREATE INDEX secret_versions_by_seq ON secret_versions (secret_arn, seq);

CREATE TABLE secret_version_stages (
	secret_arn text COLLATE "C" NOT NULL,
	stage      text COLLATE "C" NOT NULL,
	version_id text COLLATE "C" NOT NULL,
	PRIMARY KEY (secret_arn, stage),
	FOREIGN KEY (secret_arn, version_id) REFERENCES secret_versions (secret_arn, version_id) ON DELETE CASCADE
);
CREATE INDEX secret_version_stages_by_version ON secret_version_stages (secret_arn, version_id);
`,
}
