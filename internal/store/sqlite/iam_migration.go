package sqlite

import "github.com/bulwark-security/bulwark/internal/store/migrate"

func init() { migrations = migrate.Insert(migrations, iamMigration) }

// iamMigration adds the IAM tables (package iamsql holds the queries).
// Names are stored as given and lower-cased (lname): the key of lookups,
// uniqueness and ordering. Tags and string lists are JSON arrays. Foreign
// keys cascade renames (ON UPDATE) into memberships and versions; deletes
// are checked by the store first, so the keys only back those checks up.
var iamMigration = migrate.Migration{
	Version: 2,
	Name:    "iam: users, groups, roles, managed and inline policies, OIDC providers",
	SQL: `
CREATE TABLE iam_generation (
	id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
	n  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE iam_users (
	account_id   TEXT    NOT NULL REFERENCES accounts (id),
	lname        TEXT    NOT NULL,
	name         TEXT    NOT NULL,
	user_id      TEXT    NOT NULL UNIQUE,
	path         TEXT    NOT NULL,
	arn          TEXT    NOT NULL,
	created_at   INTEGER NOT NULL,
	boundary_arn TEXT    NOT NULL DEFAULT '',
	tags         TEXT    NOT NULL DEFAULT '[]',
	PRIMARY KEY (account_id, lname)
) STRICT, WITHOUT ROWID;
CREATE INDEX iam_users_by_boundary ON iam_users (boundary_arn);

CREATE TABLE iam_groups (
	account_id TEXT    NOT NULL REFERENCES accounts (id),
	lname      TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	group_id   TEXT    NOT NULL UNIQUE,
	path       TEXT    NOT NULL,
	arn        TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (account_id, lname)
) STRICT, WITHOUT ROWID;

CREATE TABLE iam_group_members (
	account_id  TEXT NOT NULL,
	group_lname TEXT NOT NULL,
	user_lname  TEXT NOT NULL,
	PRIMARY KEY (account_id, group_lname, user_lname),
	FOREIGN KEY (account_id, group_lname) REFERENCES iam_groups (account_id, lname) ON UPDATE CASCADE,
	FOREIGN KEY (account_id, user_lname) REFERENCES iam_users (account_id, lname) ON UPDATE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX iam_group_members_by_user ON iam_group_members (account_id, user_lname, group_lname);

CREATE TABLE iam_roles (
	account_id           TEXT    NOT NULL REFERENCES accounts (id),
	lname                TEXT    NOT NULL,
	name                 TEXT    NOT NULL,
	role_id              TEXT    NOT NULL UNIQUE,
	path                 TEXT    NOT NULL,
	arn                  TEXT    NOT NULL,
	created_at           INTEGER NOT NULL,
	trust_policy         TEXT    NOT NULL,
	description          TEXT    NOT NULL DEFAULT '',
	max_session_duration INTEGER NOT NULL,
	boundary_arn         TEXT    NOT NULL DEFAULT '',
	tags                 TEXT    NOT NULL DEFAULT '[]',
	last_used_at         INTEGER,
	last_used_region     TEXT    NOT NULL DEFAULT '',
	PRIMARY KEY (account_id, lname)
) STRICT, WITHOUT ROWID;
CREATE INDEX iam_roles_by_boundary ON iam_roles (boundary_arn);

-- account_id is "aws" for AWS managed policies, so it references nothing.
CREATE TABLE iam_policies (
	arn             TEXT    NOT NULL PRIMARY KEY,
	account_id      TEXT    NOT NULL,
	lname           TEXT    NOT NULL,
	name            TEXT    NOT NULL,
	policy_id       TEXT    NOT NULL UNIQUE,
	path            TEXT    NOT NULL,
	default_version TEXT    NOT NULL,
	description     TEXT    NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	tags            TEXT    NOT NULL DEFAULT '[]',
	next_version    INTEGER NOT NULL,
	UNIQUE (account_id, lname)
) STRICT, WITHOUT ROWID;

CREATE TABLE iam_policy_versions (
	policy_arn TEXT    NOT NULL REFERENCES iam_policies (arn) ON UPDATE CASCADE,
	version_id TEXT    NOT NULL,
	num        INTEGER NOT NULL,
	document   TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (policy_arn, version_id)
) STRICT, WITHOUT ROWID;

-- entity_kind is user, group or role; the entity is checked by the store.
CREATE TABLE iam_attachments (
	account_id   TEXT NOT NULL REFERENCES accounts (id),
	entity_kind  TEXT NOT NULL,
	entity_lname TEXT NOT NULL,
	entity_name  TEXT NOT NULL,
	policy_arn   TEXT NOT NULL REFERENCES iam_policies (arn),
	PRIMARY KEY (account_id, entity_kind, entity_lname, policy_arn)
) STRICT, WITHOUT ROWID;
CREATE INDEX iam_attachments_by_policy ON iam_attachments (policy_arn);

CREATE TABLE iam_inline_policies (
	account_id   TEXT NOT NULL REFERENCES accounts (id),
	entity_kind  TEXT NOT NULL,
	entity_lname TEXT NOT NULL,
	entity_name  TEXT NOT NULL,
	lname        TEXT NOT NULL,
	name         TEXT NOT NULL,
	document     TEXT NOT NULL,
	PRIMARY KEY (account_id, entity_kind, entity_lname, lname)
) STRICT, WITHOUT ROWID;

CREATE TABLE iam_oidc_providers (
	arn         TEXT    NOT NULL PRIMARY KEY,
	account_id  TEXT    NOT NULL REFERENCES accounts (id),
	url         TEXT    NOT NULL,
	client_ids  TEXT    NOT NULL,
	thumbprints TEXT    NOT NULL,
	created_at  INTEGER NOT NULL,
	tags        TEXT    NOT NULL DEFAULT '[]'
) STRICT, WITHOUT ROWID;
CREATE INDEX iam_oidc_providers_by_account ON iam_oidc_providers (account_id, arn);
`,
}
