package postgres

import "github.com/bulwark-security/bulwark/internal/store/migrate"

func init() { migrations = migrate.Insert(migrations, iamMigration) }

// iamMigration adds the IAM tables, as the SQLite migration of the same
// version does (package iamsql holds the queries). Names are stored as
// given and lower-cased (lname): the key of lookups, uniqueness and
// ordering. Tags and string lists are JSON arrays kept as text, so their
// order is exactly what was written. Foreign keys cascade renames (ON UPDATE)
// into memberships and versions; deletes are checked by the store first.
var iamMigration = migrate.Migration{
	Version: 2,
	Name:    "iam: users, groups, roles, managed and inline policies, OIDC providers",
	SQL: `
CREATE TABLE iam_generation (
	id integer NOT NULL PRIMARY KEY CHECK (id = 1),
	n  bigint  NOT NULL
);

CREATE TABLE iam_users (
	account_id   text COLLATE "C" NOT NULL REFERENCES accounts (id),
	lname        text COLLATE "C" NOT NULL,
	name         text        NOT NULL,
	user_id      text COLLATE "C" NOT NULL UNIQUE,
	path         text COLLATE "C" NOT NULL,
	arn          text COLLATE "C" NOT NULL,
	created_at   timestamptz NOT NULL,
	boundary_arn text COLLATE "C" NOT NULL DEFAULT '',
	tags         text        NOT NULL DEFAULT '[]',
	PRIMARY KEY (account_id, lname)
);
CREATE INDEX iam_users_by_boundary ON iam_users (boundary_arn);

CREATE TABLE iam_groups (
	account_id text COLLATE "C" NOT NULL REFERENCES accounts (id),
	lname      text COLLATE "C" NOT NULL,
	name       text        NOT NULL,
	group_id   text COLLATE "C" NOT NULL UNIQUE,
	path       text COLLATE "C" NOT NULL,
	arn        text COLLATE "C" NOT NULL,
	created_at timestamptz NOT NULL,
	PRIMARY KEY (account_id, lname)
);

CREATE TABLE iam_group_members (
	account_id  text COLLATE "C" NOT NULL,
	group_lname text COLLATE "C" NOT NULL,
	user_lname  text COLLATE "C" NOT NULL,
	PRIMARY KEY (account_id, group_lname, user_lname),
	FOREIGN KEY (account_id, group_lname) REFERENCES iam_groups (account_id, lname) ON UPDATE CASCADE,
	FOREIGN KEY (account_id, user_lname) REFERENCES iam_users (account_id, lname) ON UPDATE CASCADE
);
CREATE INDEX iam_group_members_by_user ON iam_group_members (account_id, user_lname, group_lname);

CREATE TABLE iam_roles (
	account_id           text COLLATE "C" NOT NULL REFERENCES accounts (id),
	lname                text COLLATE "C" NOT NULL,
	name                 text        NOT NULL,
	role_id              text COLLATE "C" NOT NULL UNIQUE,
	path                 text COLLATE "C" NOT NULL,
	arn                  text COLLATE "C" NOT NULL,
	created_at           timestamptz NOT NULL,
	trust_policy         text        NOT NULL,
	description          text        NOT NULL DEFAULT '',
	max_session_duration integer     NOT NULL,
	boundary_arn         text COLLATE "C" NOT NULL DEFAULT '',
	tags                 text        NOT NULL DEFAULT '[]',
	last_used_at         timestamptz,
	last_used_region     text        NOT NULL DEFAULT '',
	PRIMARY KEY (account_id, lname)
);
CREATE INDEX iam_roles_by_boundary ON iam_roles (boundary_arn);

-- account_id is "aws" for AWS managed policies, so it references nothing.
CREATE TABLE iam_policies (
	arn             text COLLATE "C" NOT NULL PRIMARY KEY,
	account_id      text COLLATE "C" NOT NULL,
	lname           text COLLATE "C" NOT NULL,
	name            text        NOT NULL,
	policy_id       text COLLATE "C" NOT NULL UNIQUE,
	path            text COLLATE "C" NOT NULL,
	default_version text COLLATE "C" NOT NULL,
	description     text        NOT NULL DEFAULT '',
	created_at      timestamptz NOT NULL,
	updated_at      timestamptz NOT NULL,
	tags            text        NOT NULL DEFAULT '[]',
	next_version    integer     NOT NULL,
	UNIQUE (account_id, lname)
);

CREATE TABLE iam_policy_versions (
	policy_arn text COLLATE "C" NOT NULL REFERENCES iam_policies (arn) ON UPDATE CASCADE,
	version_id text COLLATE "C" NOT NULL,
	num        integer     NOT NULL,
	document   text        NOT NULL,
	created_at timestamptz NOT NULL,
	PRIMARY KEY (policy_arn, version_id)
);

-- entity_kind is user, group or role; the entity is checked by the store.
CREATE TABLE iam_attachments (
	account_id   text COLLATE "C" NOT NULL REFERENCES accounts (id),
	entity_kind  text COLLATE "C" NOT NULL,
	entity_lname text COLLATE "C" NOT NULL,
	entity_name  text NOT NULL,
	policy_arn   text COLLATE "C" NOT NULL REFERENCES iam_policies (arn),
	PRIMARY KEY (account_id, entity_kind, entity_lname, policy_arn)
);
CREATE INDEX iam_attachments_by_policy ON iam_attachments (policy_arn);

CREATE TABLE iam_inline_policies (
	account_id   text COLLATE "C" NOT NULL REFERENCES accounts (id),
	entity_kind  text COLLATE "C" NOT NULL,
	entity_lname text COLLATE "C" NOT NULL,
	entity_name  text NOT NULL,
	lname        text COLLATE "C" NOT NULL,
	name         text NOT NULL,
	document     text NOT NULL,
	PRIMARY KEY (account_id, entity_kind, entity_lname, lname)
);

CREATE TABLE iam_oidc_providers (
	arn         text COLLATE "C" NOT NULL PRIMARY KEY,
	account_id  text COLLATE "C" NOT NULL REFERENCES accounts (id),
	url         text        NOT NULL,
	client_ids  text        NOT NULL,
	thumbprints text        NOT NULL,
	created_at  timestamptz NOT NULL,
	tags        text        NOT NULL DEFAULT '[]'
);
CREATE INDEX iam_oidc_providers_by_account ON iam_oidc_providers (account_id, arn);
`,
}
