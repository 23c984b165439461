package postgres

import "github.com/bulwark-security/bulwark/internal/store/migrate"

// migrations is the PostgreSQL schema history; keep it in step with the
// SQLite one. Append only: a released version is never edited. Text keys use
// COLLATE "C" so ORDER BY is byte order, as in SQLite, whatever the
// database's default collation.
var migrations = []migrate.Migration{
	{
		Version: 1,
		Name:    "accounts, access keys, meta",
		SQL: `
CREATE TABLE accounts (
	id         text COLLATE "C" NOT NULL PRIMARY KEY,
	alias      text        NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL
);

CREATE TABLE access_keys (
	access_key_id     text COLLATE "C" NOT NULL PRIMARY KEY,
	account_id        text COLLATE "C" NOT NULL REFERENCES accounts (id),
	principal_type    text        NOT NULL,
	principal_arn     text COLLATE "C" NOT NULL,
	principal_id      text        NOT NULL,
	user_name         text        NOT NULL DEFAULT '',
	status            text        NOT NULL,
	sealed_secret     bytea       NOT NULL,
	created_at        timestamptz NOT NULL,
	last_used_at      timestamptz,
	last_used_region  text        NOT NULL DEFAULT '',
	last_used_service text        NOT NULL DEFAULT ''
);

CREATE INDEX access_keys_by_principal ON access_keys (principal_arn, created_at, access_key_id);
CREATE INDEX access_keys_by_account ON access_keys (account_id);

CREATE TABLE meta (
	key   text COLLATE "C" NOT NULL PRIMARY KEY,
	value bytea NOT NULL
);
`,
	},
}
