package sqlite

import "github.com/bulwark-security/bulwark/internal/store/migrate"

func init() { migrations = migrate.Insert(migrations, notifyMigration) }

// notifyMigration adds the SNS-compatible notification tables and the
// automated-response tables (package notifysql holds the queries).
// Subscription confirmation tokens are stored only as SHA-256 hashes and
// queued message bodies only sealed by the keyring. sns_deliveries is the
// durable delivery queue: a row is leased by one server at a time, so each
// message reaches each subscription once even with several servers;
// response_executions does the same for response actions, and its primary
// key makes each action run at most once per finding.
var notifyMigration = migrate.Migration{
	Version: 5,
	Name:    "sns topics, subscriptions, delivery queue; response rules and executions",
	SQL: `
CREATE TABLE sns_topics (
	arn        TEXT    NOT NULL PRIMARY KEY,
	account_id TEXT    NOT NULL REFERENCES accounts (id),
	region     TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	attributes TEXT    NOT NULL DEFAULT '{}',
	tags       TEXT    NOT NULL DEFAULT '[]',
	created_at INTEGER NOT NULL,
	UNIQUE (account_id, region, name)
) STRICT, WITHOUT ROWID;

CREATE TABLE sns_subscriptions (
	arn              TEXT    NOT NULL PRIMARY KEY,
	topic_arn        TEXT    NOT NULL REFERENCES sns_topics (arn) ON DELETE CASCADE,
	account_id       TEXT    NOT NULL,
	owner            TEXT    NOT NULL,
	protocol         TEXT    NOT NULL,
	endpoint         TEXT    NOT NULL,
	confirmed        INTEGER NOT NULL DEFAULT 0,
	token_hash       BLOB    NOT NULL,
	token_expires_at INTEGER NOT NULL,
	attributes       TEXT    NOT NULL DEFAULT '{}',
	created_at       INTEGER NOT NULL,
	confirmed_at     INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX sns_subscriptions_by_topic ON sns_subscriptions (topic_arn, arn);
CREATE INDEX sns_subscriptions_by_account ON sns_subscriptions (account_id, arn);
CREATE UNIQUE INDEX sns_subscriptions_by_endpoint ON sns_subscriptions (topic_arn, protocol, endpoint);
CREATE INDEX sns_subscriptions_by_token ON sns_subscriptions (token_hash);

CREATE TABLE sns_deliveries (
	id               TEXT    NOT NULL PRIMARY KEY,
	subscription_arn TEXT    NOT NULL,
	topic_arn        TEXT    NOT NULL,
	message_id       TEXT    NOT NULL,
	kind             TEXT    NOT NULL,
	endpoint         TEXT    NOT NULL,
	policy           TEXT    NOT NULL DEFAULT '',
	body             BLOB    NOT NULL,
	attempts         INTEGER NOT NULL DEFAULT 0,
	next_attempt_at  INTEGER NOT NULL,
	lease_owner      TEXT    NOT NULL DEFAULT '',
	lease_until      INTEGER,
	last_error       TEXT    NOT NULL DEFAULT '',
	created_at       INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX sns_deliveries_due ON sns_deliveries (next_attempt_at);

CREATE TABLE response_rules (
	account_id TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	body       TEXT    NOT NULL,
	enabled    INTEGER NOT NULL DEFAULT 1,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (account_id, name)
) STRICT, WITHOUT ROWID;

CREATE TABLE response_executions (
	account_id      TEXT    NOT NULL,
	rule_name       TEXT    NOT NULL,
	finding_id      TEXT    NOT NULL,
	action_index    INTEGER NOT NULL,
	action          TEXT    NOT NULL,
	finding         TEXT    NOT NULL,
	status          TEXT    NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	lease_owner     TEXT    NOT NULL DEFAULT '',
	lease_until     INTEGER,
	last_error      TEXT    NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	done_at         INTEGER,
	PRIMARY KEY (account_id, rule_name, finding_id, action_index)
) STRICT, WITHOUT ROWID;
CREATE INDEX response_executions_due ON response_executions (status, next_attempt_at);
`,
}
