package sqlite

import "github.com/bulwark-security/bulwark/internal/store/migrate"

func init() { migrations = migrate.Insert(migrations, detectMigration) }

// detectMigration adds the detectors' shared window counts (package
// detectsql holds the queries): one row per detector subject, time bucket
// and server.
var detectMigration = migrate.Migration{
	Version: 10,
	Name:    "detect: shared detector window counts",
	SQL: `
CREATE TABLE detect_counts (
	key    TEXT    NOT NULL,
	bucket INTEGER NOT NULL,
	server TEXT    NOT NULL,
	count  INTEGER NOT NULL,
	PRIMARY KEY (key, bucket, server)
) STRICT;
CREATE INDEX detect_counts_by_bucket ON detect_counts (bucket);
`,
}
