package credentials

import (
	"context"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/audit"
	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/sqlite"
)

func TestLastUsed(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, ":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	_ = st.CreateAccount(ctx, store.Account{ID: "111122223333", CreatedAt: t0})
	const key = "AKIAUSEDUSEDUSEDUSED"
	if err := st.CreateAccessKey(ctx, store.AccessKey{AccessKeyID: key, AccountID: "111122223333", PrincipalType: store.PrincipalUser,
		PrincipalARN: "arn:aws:iam::111122223333:user/bob", PrincipalID: "AIDABOB", UserName: "bob", Status: store.KeyActive,
		SealedSecret: []byte{1}, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	ev := func(at time.Time, typ, id, source string) *audit.Event {
		return &audit.Event{EventTime: at, AWSRegion: "us-east-1", EventSource: source,
			UserIdentity: audit.UserIdentity{Type: typ, AccessKeyID: id}}
	}
	lu := &LastUsed{Store: st}
	check := func(wantAt time.Time, wantService string) {
		t.Helper()
		if err := lu.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		k, err := st.GetAccessKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if !k.LastUsedAt.Equal(wantAt) || k.LastUsedService != wantService || (!wantAt.IsZero() && k.LastUsedRegion != "us-east-1") {
			t.Fatalf("last used %v %q %q, want %v %q", k.LastUsedAt, k.LastUsedService, k.LastUsedRegion, wantAt, wantService)
		}
	}

	lu.Observe(ev(t0, "", key, "sts.amazonaws.com")) // signature not verified
	lu.Observe(ev(t0, "AssumedRole", "ASIASESSIONSESSIONSE", "sts.amazonaws.com"))
	check(time.Time{}, "")

	lu.Observe(ev(t0.Add(time.Second), "IAMUser", key, "sts.amazonaws.com"))
	lu.Observe(ev(t0.Add(2*time.Second), "IAMUser", key, "sts.amazonaws.com"))
	check(t0.Add(2*time.Second), "sts")

	// Within the interval, the same service and region are not written again...
	lu.Observe(ev(t0.Add(30*time.Second), "IAMUser", key, "sts.amazonaws.com"))
	check(t0.Add(2*time.Second), "sts")
	// ...another service is, and so is a use after the interval.
	lu.Observe(ev(t0.Add(40*time.Second), "IAMUser", key, "secretsmanager.amazonaws.com"))
	check(t0.Add(40*time.Second), "secretsmanager")
	lu.Observe(ev(t0.Add(2*time.Minute), "IAMUser", key, "secretsmanager.amazonaws.com"))
	check(t0.Add(2*time.Minute), "secretsmanager")

	// A key deleted before the flush is skipped.
	lu.Observe(ev(t0.Add(5*time.Minute), "IAMUser", "AKIAGONEGONEGONEGONE", "iam.amazonaws.com"))
	if err := lu.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}
