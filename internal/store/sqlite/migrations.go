package sqlite

import "github.com/bulwark-security/bulwark/internal/store/migrate"

// migrations is the SQLite schema history. Append only: a released version is
// never edited. Times are INTEGER unix microseconds (UTC), which sort and
// compare as numbers and match PostgreSQL's precision. Tables are STRICT so a
// wrong type is an error instead of a silent conversion, and WITHOUT ROWID so
// a lookup by text primary key is one B-tree search.
var migrations = []migrate.Migration{
	{
		Version: 1,
		Name:    "accounts, access keys, meta",
		SQL: `
CREATE TABLE accounts (
	id         TEXT    NOT NULL PRIMARY KEY,
	alias      TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE access_keys (
	access_key_id     TEXT    NOT NULL PRIMARY KEY,
	account_id        TEXT    NOT NULL REFERENCES accounts (id),
	principal_type    TEXT    NOT NULL,
	principal_arn     TEXT    NOT NULL,
	principal_id      TEXT    NOT NULL,
	user_name         TEXT    NOT NULL DEFAULT '',
	status            TEXT    NOT NULL,
	sealed_secret     BLOB    NOT NULL,
	created_at        INTEGER NOT NULL,
	last_used_at      INTEGER,
	last_used_region  TEXT    NOT NULL DEFAULT '',
	last_used_service TEXT    NOT NULL DEFAULT ''
) STRICT, WITHOUT ROWID;

CREATE INDEX access_keys_by_principal ON access_keys (principal_arn, created_at, access_key_id);
CREATE INDEX access_keys_by_account ON access_keys (account_id);

CREATE TABLE meta (
	key   TEXT NOT NULL PRIMARY KEY,
	value BLOB NOT NULL
) STRICT, WITHOUT ROWID;
`,
	},
}
