package postgres

import "github.com/bulwark-security/bulwark/internal/store/migrate"

func init() { migrations = migrate.Insert(migrations, notifyMigration) }

// notifyMigration adds, as the SQLite migration of the same version does, the SNS-compatible notification tables and the
// automated-response tables (package notifysql holds the queries).
// Subscription confirmation tokens are stored only as SHA-256 hashes; the
// message signing key is sealed by the keyring. sns_deliveries is the durable
// delivery queue: a row is leased by one server at a time so each message is
// delivered once per subscription even with several servers.
var notifyMigration = migrate.Migration{
	Version: 5,
	Name:    "sns topics, subscriptions, deliveries, signing keys; response rules and executions",
	SQL: `
CREATE TABLE sns_topics (
	arn        text COLLATE "C" NOT NULL PRIMARY KEY,
	account_id text    NOT NULL REFERENCES accounts (id),
	region     text    NOT NULL,
	name       text    NOT NULL,
	attributes text    NOT NULL DEFAULT '{}',
	tags       text    NOT NULL DEFAULT '[]',
	created_at bigint  NOT NULL,
	UNIQUE (account_id, region, name)
);

CREATE TABLE sns_subscriptions (
	arn              text COLLATE "C" NOT NULL PRIMARY KEY,
	topic_arn        text    NOT NULL REFERENCES sns_topics (arn) ON DELETE CASCADE,
	account_id       text    NOT NULL,
	owner            text    NOT NULL,
	protocol         text    NOT NULL,
	endpoint         text    NOT NULL,
	confirmed        bigint NOT NULL DEFAULT 0,
	token_hash       bytea   NOT NULL,
	token_expires_at bigint  NOT NULL,
	attributes       text    NOT NULL DEFAULT '{}',
	created_at       bigint  NOT NULL,
	confirmed_at     bigint
);
CREATE INDEX sns_subscriptions_by_topic ON sns_subscriptions (topic_arn, arn);
CREATE UNIQUE INDEX sns_subscriptions_by_endpoint ON sns_subscriptions (topic_arn, protocol, endpoint);
CREATE INDEX sns_subscriptions_by_token ON sns_subscriptions (token_hash);

CREATE TABLE sns_deliveries (
	id               text COLLATE "C" NOT NULL PRIMARY KEY,
	subscription_arn text    NOT NULL,
	topic_arn        text    NOT NULL,
	message_id       text    NOT NULL,
	kind             text    NOT NULL,
	endpoint         text    NOT NULL,
	body             bytea   NOT NULL,
	attempts         bigint NOT NULL DEFAULT 0,
	next_attempt_at  bigint  NOT NULL,
	lease_owner      text    NOT NULL DEFAULT '',
	lease_until      bigint NOT NULL DEFAULT 0,
	last_error       text    NOT NULL DEFAULT '',
	created_at       bigint  NOT NULL
);
CREATE INDEX sns_deliveries_due ON sns_deliveries (next_attempt_at);

CREATE TABLE sns_signing_keys (
	id         text COLLATE "C" NOT NULL PRIMARY KEY,
	sealed_key bytea   NOT NULL,
	cert_der   bytea   NOT NULL,
	created_at bigint  NOT NULL
);

CREATE TABLE response_rules (
	name       text COLLATE "C" NOT NULL PRIMARY KEY,
	body       text    NOT NULL,
	enabled    bigint  NOT NULL DEFAULT 1,
	created_at bigint  NOT NULL,
	updated_at bigint  NOT NULL
);

CREATE TABLE response_executions (
	rule_name       text    NOT NULL,
	finding_id      text    NOT NULL,
	action_index    bigint  NOT NULL,
	action          text    NOT NULL,
	finding         text    NOT NULL,
	status          text    NOT NULL,
	attempts        bigint NOT NULL DEFAULT 0,
	next_attempt_at bigint  NOT NULL,
	lease_owner     text    NOT NULL DEFAULT '',
	lease_until     bigint NOT NULL DEFAULT 0,
	last_error      text    NOT NULL DEFAULT '',
	created_at      bigint  NOT NULL,
	done_at         bigint,
	PRIMARY KEY (rule_name, finding_id, action_index)
);
CREATE INDEX response_executions_due ON response_executions (status, next_attempt_at);
`,
}
