package postgres

import "github.com/bulwark-security/bulwark/internal/store/migrate"

func init() { migrations = migrate.Insert(migrations, notifyMigration) }

// notifyMigration adds, as the SQLite migration of the same version does, the SNS-compatible notification tables and the
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
	arn              text COLLATE "C" NOT NULL PRIMARY KEY,
	account_id       text COLLATE "C" NOT NULL REFERENCES accounts (id),
	region           text COLLATE "C" NOT NULL,
	name             text COLLATE "C" NOT NULL,
	attributes       text             NOT NULL DEFAULT '{}',
	tags             text             NOT NULL DEFAULT '[]',
	created_at       timestamptz      NOT NULL,
	UNIQUE (account_id, region, name)
);

CREATE TABLE sns_subscriptions (
	arn              text COLLATE "C" NOT NULL PRIMARY KEY,
	topic_arn        text COLLATE "C" NOT NULL REFERENCES sns_topics (arn) ON DELETE CASCADE,
	account_id       text COLLATE "C" NOT NULL,
	owner            text COLLATE "C" NOT NULL,
	protocol         text COLLATE "C" NOT NULL,
	endpoint         text COLLATE "C" NOT NULL,
	confirmed        bigint           NOT NULL DEFAULT 0,
	token_hash       bytea            NOT NULL,
	token_expires_at timestamptz      NOT NULL,
	attributes       text             NOT NULL DEFAULT '{}',
	created_at       timestamptz      NOT NULL,
	confirmed_at     timestamptz
);
CREATE INDEX sns_subscriptions_by_topic ON sns_subscriptions (topic_arn, arn);
CREATE INDEX sns_subscriptions_by_account ON sns_subscriptions (account_id, arn);
CREATE UNIQUE INDEX sns_subscriptions_by_endpoint ON sns_subscriptions (topic_arn, protocol, endpoint);
CREATE INDEX sns_subscriptions_by_token ON sns_subscriptions (token_hash);

CREATE TABLE sns_deliveries (
	id               text COLLATE "C" NOT NULL PRIMARY KEY,
	subscription_arn text COLLATE "C" NOT NULL,
	topic_arn        text COLLATE "C" NOT NULL,
	message_id       text COLLATE "C" NOT NULL,
	kind             text COLLATE "C" NOT NULL,
	endpoint         text COLLATE "C" NOT NULL,
	policy           text             NOT NULL DEFAULT '',
	body             bytea            NOT NULL,
	attempts         bigint           NOT NULL DEFAULT 0,
	next_attempt_at  timestamptz      NOT NULL,
	lease_owner      text COLLATE "C" NOT NULL DEFAULT '',
	lease_until      timestamptz,
	last_error       text             NOT NULL DEFAULT '',
	created_at       timestamptz      NOT NULL
);
CREATE INDEX sns_deliveries_due ON sns_deliveries (next_attempt_at);

CREATE TABLE response_rules (
	account_id       text COLLATE "C" NOT NULL,
	name             text COLLATE "C" NOT NULL,
	body             text             NOT NULL,
	enabled          bigint           NOT NULL DEFAULT 1,
	created_at       timestamptz      NOT NULL,
	updated_at       timestamptz      NOT NULL,
	PRIMARY KEY (account_id, name)
);

CREATE TABLE response_executions (
	account_id       text COLLATE "C" NOT NULL,
	rule_name        text COLLATE "C" NOT NULL,
	finding_id       text COLLATE "C" NOT NULL,
	action_index     bigint           NOT NULL,
	action           text             NOT NULL,
	finding          text             NOT NULL,
	status           text COLLATE "C" NOT NULL,
	attempts         bigint           NOT NULL DEFAULT 0,
	next_attempt_at  timestamptz      NOT NULL,
	lease_owner      text COLLATE "C" NOT NULL DEFAULT '',
	lease_until     timestamptz,
	last_error       text             NOT NULL DEFAULT '',
	created_at       timestamptz      NOT NULL,
	done_at         timestamptz,
	PRIMARY KEY (account_id, rule_name, finding_id, action_index)
);
CREATE INDEX response_executions_due ON response_executions (status, next_attempt_at);
`,
}
