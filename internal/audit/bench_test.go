package audit

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/bulwark-security/bulwark/internal/store/sqlite"
)

// BenchmarkTrailSQLite is the cost of one durable record on a file-backed
// SQLite store with concurrent callers (group commit), each group commit a
// store transaction (--audit-journal off) or a journal write with the
// store written behind (the default).
func BenchmarkTrailSQLite(b *testing.B) {
	b.Run("direct", func(b *testing.B) { benchTrail(b, false) })
	b.Run("journal", func(b *testing.B) { benchTrail(b, true) })
}

func benchTrail(b *testing.B, journal bool) {
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "b.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cfg := TrailConfig{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if journal {
		if cfg.Journal, err = OpenJournal(filepath.Join(b.TempDir(), "journal"), JournalOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	tr, err := NewTrail(cfg)
	if err != nil {
		b.Fatal(err)
	}

	b.SetParallelism(4)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if err := tr.Record(context.Background(), testEvent(i)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	// Close drains the store writes: they are part of the cost.
	tr.Close()
}

// BenchmarkEncodeEvent is the request-path cost of building a record.
func BenchmarkEncodeEvent(b *testing.B) {
	in := &struct {
		RoleArn, RoleSessionName string
		DurationSeconds          int
	}{"arn:aws:iam::111122223333:role/app", "s", 3600}
	b.ReportAllocs()
	for b.Loop() {
		e := testEvent(1)
		e.RequestParameters = Render(in, nil)
		e.ResponseElements = Render(&assumeResult{Credentials: credsXML{AccessKeyID: "ASIA", SecretAccessKey: "x", SessionToken: "y"}}, nil)
		p := indexOf(e)
		_ = p
		if _, err := e.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}
