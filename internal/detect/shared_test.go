package detect

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/findings"
	"github.com/bulwark-security/bulwark/internal/store/sqlite"
)

// TestSharedWindows: a burst of bad signatures split over two servers,
// under each one's threshold, is found once they exchange counts; without
// sharing it is not; counts outside the window do not add up.
func TestSharedWindows(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "shared.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: t0}
	hub, err := findings.New(findings.Config{Store: st, Region: "us-east-1", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	th := Thresholds{SignatureFailures: 10, SignatureWindow: time.Minute, Subjects: 100}
	server := func(name string, shared bool) *Engine {
		cfg := Config{Hub: hub, Region: "us-east-1", AccountID: acct, Now: clk.Now,
			Detectors: []Detector{NewSignatureFailures(th)}, Logger: slog.New(slog.NewTextHandler(tWriter{t}, nil))}
		if shared {
			cfg.Shared, cfg.Server = st, name
		}
		e, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	a, b := server("a", true), server("b", true)
	ctx := t.Context()
	key := findings.Identifier{ID: FindingID("bulwark/signature-failures", acct, "accesskey/AKIASPLIT"), ProductARN: hub.ProductARN()}
	// Six failures on each server (distinct addresses, so only the key's
	// window can fire), twelve within the minute in all.
	for i := range 6 {
		a.Process(ctx, badSig(2*i, "AKIASPLIT", "10.0.0.1", "SignatureDoesNotMatch"))
		b.Process(ctx, badSig(2*i+1, "AKIASPLIT", "10.0.0.2", "SignatureDoesNotMatch"))
	}
	if _, err := hub.Get(ctx, key); err == nil {
		t.Fatal("a finding before the servers exchanged counts")
	}
	clk.add(12 * time.Second)
	for _, e := range []*Engine{a, b, a} {
		if err := e.Share(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The next failure on either server finds the burst.
	a.Process(ctx, badSig(13, "AKIASPLIT", "10.0.0.1", "SignatureDoesNotMatch"))
	f, err := hub.Get(ctx, key)
	if err != nil {
		t.Fatalf("the split burst was not found: %v", err)
	}
	if f.GeneratorID != "bulwark/signature-failures" || f.Resources[0].ID != "AKIASPLIT" {
		t.Fatalf("finding %+v", f)
	}

	// Without sharing, the same split goes unseen.
	c, d := server("c", false), server("d", false)
	for i := range 7 {
		c.Process(ctx, badSig(100+2*i, "AKIALONE", "10.0.1.1", "SignatureDoesNotMatch"))
		d.Process(ctx, badSig(101+2*i, "AKIALONE", "10.0.1.2", "SignatureDoesNotMatch"))
	}
	lone := findings.Identifier{ID: FindingID("bulwark/signature-failures", acct, "accesskey/AKIALONE"), ProductARN: hub.ProductARN()}
	if _, err := hub.Get(ctx, lone); err == nil {
		t.Fatal("unshared servers found a split burst (the test does not test sharing)")
	}

	// Counts older than the window do not add up: b's failures are long
	// past when a sees more.
	for i := range 6 {
		b.Process(ctx, badSig(200+i, "AKIAOLD", "10.0.2.2", "SignatureDoesNotMatch"))
	}
	if err := b.Share(ctx); err != nil {
		t.Fatal(err)
	}
	clk.add(10 * time.Minute)
	for i := range 6 {
		a.Process(ctx, badSig(900+i, "AKIAOLD", "10.0.2.1", "SignatureDoesNotMatch"))
	}
	if err := a.Share(ctx); err != nil {
		t.Fatal(err)
	}
	a.Process(ctx, badSig(910, "AKIAOLD", "10.0.2.1", "SignatureDoesNotMatch"))
	old := findings.Identifier{ID: FindingID("bulwark/signature-failures", acct, "accesskey/AKIAOLD"), ProductARN: hub.ProductARN()}
	if _, err := hub.Get(ctx, old); err == nil {
		t.Fatal("counts from outside the window made a finding")
	}
}
