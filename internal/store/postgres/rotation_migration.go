package postgres

import "github.com/bulwark-security/bulwark/internal/store/migrate"

func init() { migrations = migrate.Insert(migrations, rotationMigration) }

// rotationMigration adds secret rotation's tables, as the SQLite migration
// of the same version does (package rotationsql holds the queries). The
// webhook signing key is sealed by the keyring.
var rotationMigration = migrate.Migration{
	Version: 9,
	Name:    "secrets manager rotation: rotation state and leases, webhook rotators",
	SQL: `
CREATE TABLE secret_rotations (
	secret_arn    text COLLATE "C" NOT NULL PRIMARY KEY REFERENCES secrets (arn) ON DELETE CASCADE,
	token         text COLLATE "C" NOT NULL DEFAULT '',
	step          text        NOT NULL DEFAULT '',
	started_at    timestamptz,
	scheduled_for timestamptz,
	lease_owner   text        NOT NULL DEFAULT '',
	lease_until   timestamptz,
	attempts      integer     NOT NULL DEFAULT 0,
	retry_at      timestamptz,
	failure       text        NOT NULL DEFAULT '',
	failure_step  text        NOT NULL DEFAULT '',
	failed_at     timestamptz
);
CREATE INDEX secret_rotations_by_retry ON secret_rotations (retry_at) WHERE retry_at IS NOT NULL;

CREATE TABLE rotation_webhooks (
	function_arn text COLLATE "C" NOT NULL PRIMARY KEY,
	account_id   text COLLATE "C" NOT NULL REFERENCES accounts (id),
	url          text        NOT NULL,
	sealed_key   bytea       NOT NULL,
	ca_pem       text        NOT NULL DEFAULT '',
	created_at   timestamptz NOT NULL,
	updated_at   timestamptz NOT NULL
);
CREATE INDEX rotation_webhooks_by_account ON rotation_webhooks (account_id, function_arn);
`,
}
