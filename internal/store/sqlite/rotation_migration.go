package sqlite

import "github.com/bulwark-security/bulwark/internal/store/migrate"

func init() { migrations = migrate.Insert(migrations, rotationMigration) }

// rotationMigration adds secret rotation's tables (package rotationsql holds
// the queries). secret_rotations is one row per secret that was ever
// rotated: the rotation in progress (its ClientRequestToken and next step),
// the lease a scheduler holds while it runs it, and the last failure.
// scheduled_for records which scheduled occurrence a rotation was started
// for, so two servers can never both start the same one. rotation_webhooks
// maps a rotation function ARN to an HTTPS endpoint (and, optionally, the
// CA certificates its TLS certificate must chain to); its signing key is
// sealed by the keyring.
var rotationMigration = migrate.Migration{
	Version: 9,
	Name:    "secrets manager rotation: rotation state and leases, webhook rotators",
	SQL: `
CREATE TABLE secret_rotations (
	secret_arn    TEXT    NOT NULL PRIMARY KEY REFERENCES secrets (arn) ON DELETE CASCADE,
	token         TEXT    NOT NULL DEFAULT '',
	step          TEXT    NOT NULL DEFAULT '',
	started_at    INTEGER,
	scheduled_for INTEGER,
	lease_owner   TEXT    NOT NULL DEFAULT '',
	lease_until   INTEGER,
	attempts      INTEGER NOT NULL DEFAULT 0,
	retry_at      INTEGER,
	failure       TEXT    NOT NULL DEFAULT '',
	failure_step  TEXT    NOT NULL DEFAULT '',
	failed_at     INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX secret_rotations_by_retry ON secret_rotations (retry_at) WHERE retry_at IS NOT NULL;

CREATE TABLE rotation_webhooks (
	function_arn TEXT    NOT NULL PRIMARY KEY,
	account_id   TEXT    NOT NULL REFERENCES accounts (id),
	url          TEXT    NOT NULL,
	sealed_key   BLOB    NOT NULL,
	ca_pem       TEXT    NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX rotation_webhooks_by_account ON rotation_webhooks (account_id, function_arn);
`,
}
