package postgres

import "github.com/bulwark-security/bulwark/internal/store/migrate"

func init() { migrations = migrate.Insert(migrations, kmsMigration) }

// kmsMigration adds the KMS tables, as the SQLite migration of the same
// version does (package kmssql holds the queries). Key material is sealed
// by the keyring before it reaches kms_key_material; gen is bumped by every
// change to a key, its policy or its grants.
var kmsMigration = migrate.Migration{
	Version: 4,
	Name:    "kms: keys, key material versions, aliases, grants",
	SQL: `
CREATE TABLE kms_keys (
	key_id               text COLLATE "C" NOT NULL PRIMARY KEY,
	account_id           text COLLATE "C" NOT NULL REFERENCES accounts (id),
	region               text COLLATE "C" NOT NULL,
	arn                  text COLLATE "C" NOT NULL UNIQUE,
	description          text        NOT NULL DEFAULT '',
	key_spec             text        NOT NULL,
	key_usage            text        NOT NULL,
	origin               text        NOT NULL,
	manager              text        NOT NULL,
	state                text        NOT NULL,
	created_at           timestamptz NOT NULL,
	deletion_date        timestamptz,
	pending_window_days  integer     NOT NULL DEFAULT 0,
	policy               text        NOT NULL,
	tags                 text        NOT NULL DEFAULT '[]',
	rotation_period_days integer     NOT NULL DEFAULT 0,
	next_rotation_at     timestamptz,
	current_version      integer     NOT NULL,
	public_key           bytea       NOT NULL,
	gen                  bigint      NOT NULL
);
CREATE INDEX kms_keys_by_account ON kms_keys (account_id, region, created_at, key_id);
CREATE INDEX kms_keys_by_rotation ON kms_keys (next_rotation_at) WHERE next_rotation_at IS NOT NULL;
CREATE INDEX kms_keys_by_deletion ON kms_keys (deletion_date) WHERE deletion_date IS NOT NULL;

CREATE TABLE kms_key_material (
	key_id        text COLLATE "C" NOT NULL REFERENCES kms_keys (key_id),
	version       integer     NOT NULL,
	sealed        bytea       NOT NULL,
	rotation_type text        NOT NULL DEFAULT '',
	created_at    timestamptz NOT NULL,
	PRIMARY KEY (key_id, version)
);

CREATE TABLE kms_aliases (
	account_id text COLLATE "C" NOT NULL REFERENCES accounts (id),
	region     text COLLATE "C" NOT NULL,
	name       text COLLATE "C" NOT NULL,
	key_id     text COLLATE "C" NOT NULL REFERENCES kms_keys (key_id),
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (account_id, region, name)
);
CREATE INDEX kms_aliases_by_key ON kms_aliases (key_id, name);

CREATE TABLE kms_grants (
	grant_id        text COLLATE "C" NOT NULL PRIMARY KEY,
	key_id          text COLLATE "C" NOT NULL REFERENCES kms_keys (key_id),
	name            text        NOT NULL DEFAULT '',
	grantee         text COLLATE "C" NOT NULL,
	retiring        text COLLATE "C" NOT NULL DEFAULT '',
	issuing_account text COLLATE "C" NOT NULL,
	operations      text        NOT NULL,
	constraints     text        NOT NULL DEFAULT '',
	token_hash      bytea       NOT NULL UNIQUE,
	created_at      timestamptz NOT NULL
);
CREATE INDEX kms_grants_by_key ON kms_grants (key_id, created_at, grant_id);
CREATE INDEX kms_grants_by_retiring ON kms_grants (retiring, created_at, grant_id);
`,
}
