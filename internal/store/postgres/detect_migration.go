package postgres

import "github.com/bulwark-security/bulwark/internal/store/migrate"

func init() { migrations = migrate.Insert(migrations, detectMigration) }

// detectMigration adds the detectors' shared window counts, as the SQLite
// migration of the same version does (package detectsql holds the
// queries).
var detectMigration = migrate.Migration{
	Version: 10,
	Name:    "detect: shared detector window counts",
	SQL: `
CREATE TABLE detect_counts (
	key    text COLLATE "C" NOT NULL,
	bucket bigint NOT NULL,
	server text COLLATE "C" NOT NULL,
	count  bigint NOT NULL,
	PRIMARY KEY (key, bucket, server)
);
CREATE INDEX detect_counts_by_bucket ON detect_counts (bucket);
`,
}
