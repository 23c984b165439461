// Package storetest is the conformance suite every store.Store implementation
// runs, so SQLite and PostgreSQL behave the same to the code above them:
//
//	func TestConformance(t *testing.T) { storetest.Run(t, openTestStore) }
//
// open must return a fresh, empty, migrated store for each call and close it
// (and remove anything it created) in t.Cleanup.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

// Run runs the conformance suite. Each subtest calls open for its own store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Accounts", testAccounts},
		{"AccountTimes", testAccountTimes},
		{"AccessKeyRoundTrip", testAccessKeyRoundTrip},
		{"AccessKeyErrors", testAccessKeyErrors},
		{"ListAccessKeysOrder", testListAccessKeysOrder},
		{"SetAccessKeyStatus", testSetAccessKeyStatus},
		{"TouchAccessKey", testTouchAccessKey},
		{"DeleteAccessKey", testDeleteAccessKey},
		{"Meta", testMeta},
		{"MetaRacers", testMetaRacers},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Reset", testReset},
		{"CanceledContext", testCanceledContext},
		{"PingClose", testPingClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

const acct = "123456789012"

// at is a fixed time with nanoseconds and a non-UTC zone, so the suite checks
// truncation to microseconds and conversion to UTC.
var at = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("X", 5*3600+1800))

// wantTime is at as every store must return it.
var wantTime = at.UTC().Truncate(time.Microsecond)

func mustCreateAccount(t *testing.T, s store.Store, id string) {
	t.Helper()
	if err := s.CreateAccount(t.Context(), store.Account{ID: id, CreatedAt: at}); err != nil {
		t.Fatalf("CreateAccount(%s): %v", id, err)
	}
}

func rootKey(id string) store.AccessKey {
	return store.AccessKey{
		AccessKeyID:   id,
		AccountID:     acct,
		PrincipalType: store.PrincipalRoot,
		PrincipalARN:  "arn:aws:iam::" + acct + ":root",
		PrincipalID:   acct,
		Status:        store.KeyActive,
		SealedSecret:  []byte("sealed:" + id),
		CreatedAt:     at,
	}
}

func checkTime(t *testing.T, field string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", field, got, want)
	}
	if !got.IsZero() && got.Location() != time.UTC {
		t.Errorf("%s location = %v, want UTC", field, got.Location())
	}
}

func checkKey(t *testing.T, got, want store.AccessKey) {
	t.Helper()
	checkTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "LastUsedAt", got.LastUsedAt, want.LastUsedAt)
	if !bytes.Equal(got.SealedSecret, want.SealedSecret) || got.SealedSecret == nil {
		t.Errorf("SealedSecret = %x, want %x (non-nil)", got.SealedSecret, want.SealedSecret)
	}
	got.CreatedAt, want.CreatedAt = time.Time{}, time.Time{}
	got.LastUsedAt, want.LastUsedAt = time.Time{}, time.Time{}
	got.SealedSecret, want.SealedSecret = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("access key = %+v\nwant %+v", got, want)
	}
}

func testAccounts(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.GetAccount(ctx, acct); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetAccount(missing) = %v, want ErrNotFound", err)
	}
	list, err := s.ListAccounts(ctx)
	if err != nil || len(list) != 0 {
		t.Fatalf("ListAccounts(empty) = %v, %v", list, err)
	}
	// Inserted out of order to check ORDER BY id.
	for _, a := range []store.Account{
		{ID: "222222222222", Alias: "prod", CreatedAt: at},
		{ID: "000000000001", CreatedAt: at.Add(time.Hour)},
		{ID: "111111111111", Alias: "dev ünïcode", CreatedAt: at.Add(-time.Hour)},
	} {
		if err := s.CreateAccount(ctx, a); err != nil {
			t.Fatalf("CreateAccount(%s): %v", a.ID, err)
		}
	}
	err = s.CreateAccount(ctx, store.Account{ID: "222222222222", Alias: "other", CreatedAt: at})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateAccount(duplicate) = %v, want ErrConflict", err)
	}
	a, err := s.GetAccount(ctx, "222222222222")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "222222222222" || a.Alias != "prod" {
		t.Errorf("GetAccount = %+v (duplicate must not overwrite)", a)
	}
	checkTime(t, "CreatedAt", a.CreatedAt, wantTime)
	list, err = s.ListAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range list {
		ids = append(ids, a.ID)
	}
	if fmt.Sprint(ids) != "[000000000001 111111111111 222222222222]" {
		t.Errorf("ListAccounts ids = %v", ids)
	}
	if list[1].Alias != "dev ünïcode" || list[0].Alias != "" {
		t.Errorf("aliases = %q, %q", list[0].Alias, list[1].Alias)
	}
}

func testAccountTimes(t *testing.T, s store.Store) {
	ctx := t.Context()
	tests := []struct {
		name string
		in   time.Time
	}{
		{"nanoseconds truncated", at},
		{"utc whole second", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"before epoch", time.Date(1969, 7, 20, 20, 17, 40, 123456000, time.UTC)},
		{"zero", time.Time{}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("9000000000%02d", i)
			if err := s.CreateAccount(ctx, store.Account{ID: id, CreatedAt: tt.in}); err != nil {
				t.Fatal(err)
			}
			a, err := s.GetAccount(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if !a.CreatedAt.Equal(tt.in.Truncate(time.Microsecond)) {
				t.Errorf("CreatedAt = %v, want %v", a.CreatedAt, tt.in.Truncate(time.Microsecond))
			}
		})
	}
}

func testAccessKeyRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreateAccount(t, s, acct)
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	tests := []struct {
		name string
		key  store.AccessKey
	}{
		{"root", rootKey("AKIAROOT000000000001")},
		{"user with every field", store.AccessKey{
			AccessKeyID:     "AKIAUSER000000000001",
			AccountID:       acct,
			PrincipalType:   store.PrincipalUser,
			PrincipalARN:    "arn:aws:iam::" + acct + ":user/division/alice",
			PrincipalID:     "AIDAEXAMPLE000000001",
			UserName:        "alice",
			Status:          store.KeyInactive,
			SealedSecret:    allBytes,
			CreatedAt:       at,
			LastUsedAt:      at.Add(36 * time.Hour),
			LastUsedRegion:  "eu-west-3",
			LastUsedService: "secretsmanager",
		}},
		{"empty sealed secret", func() store.AccessKey {
			k := rootKey("AKIAROOT000000000002")
			k.SealedSecret = nil
			return k
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.CreateAccessKey(ctx, tt.key); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetAccessKey(ctx, tt.key.AccessKeyID)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.key
			want.CreatedAt = want.CreatedAt.UTC().Truncate(time.Microsecond)
			if !want.LastUsedAt.IsZero() {
				want.LastUsedAt = want.LastUsedAt.UTC().Truncate(time.Microsecond)
			}
			if want.SealedSecret == nil {
				want.SealedSecret = []byte{}
			}
			checkKey(t, got, want)
		})
	}
}

func testAccessKeyErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	if err := s.CreateAccessKey(ctx, rootKey("AKIANOACCOUNT0000001")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CreateAccessKey(no account) = %v, want ErrNotFound", err)
	}
	mustCreateAccount(t, s, acct)
	k := rootKey("AKIADUP0000000000001")
	if err := s.CreateAccessKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	k2 := k
	k2.SealedSecret = []byte("other")
	if err := s.CreateAccessKey(ctx, k2); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateAccessKey(duplicate) = %v, want ErrConflict", err)
	}
	got, err := s.GetAccessKey(ctx, k.AccessKeyID)
	if err != nil || !bytes.Equal(got.SealedSecret, k.SealedSecret) {
		t.Fatalf("after duplicate: %v, %q (must keep the original)", err, got.SealedSecret)
	}
	if _, err := s.GetAccessKey(ctx, "AKIAMISSING000000001"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetAccessKey(missing) = %v, want ErrNotFound", err)
	}
	bad := rootKey("AKIABADSTATUS0000001")
	bad.Status = "Deleted"
	if err := s.CreateAccessKey(ctx, bad); err == nil {
		t.Fatal("CreateAccessKey(bad status) succeeded")
	}
	// Hostile-looking ids are data, never SQL.
	for _, id := range []string{"'; DROP TABLE access_keys; --", "", "\x00", "\xff\xfe", "%", "_"} {
		if _, err := s.GetAccessKey(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetAccessKey(%q) = %v, want ErrNotFound", id, err)
		}
	}
	if _, err := s.GetAccessKey(ctx, k.AccessKeyID); err != nil {
		t.Fatalf("table damaged: %v", err)
	}
}

func testListAccessKeysOrder(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreateAccount(t, s, acct)
	alice := "arn:aws:iam::" + acct + ":user/alice"
	mk := func(id string, created time.Time, arn string) {
		k := rootKey(id)
		k.PrincipalARN, k.CreatedAt = arn, created
		if err := s.CreateAccessKey(ctx, k); err != nil {
			t.Fatalf("CreateAccessKey(%s): %v", id, err)
		}
	}
	// Same creation time for C and B: the id breaks the tie.
	mk("AKIAC000000000000000", at, alice)
	mk("AKIAB000000000000000", at, alice)
	mk("AKIAA000000000000000", at.Add(time.Microsecond), alice)
	mk("AKIAZ000000000000000", at.Add(-time.Second), alice)
	mk("AKIAOTHER00000000000", at, "arn:aws:iam::"+acct+":user/bob")
	got, err := s.ListAccessKeys(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range got {
		ids = append(ids, k.AccessKeyID)
		if k.PrincipalARN != alice {
			t.Errorf("listed key of %s", k.PrincipalARN)
		}
	}
	want := "[AKIAZ000000000000000 AKIAB000000000000000 AKIAC000000000000000 AKIAA000000000000000]"
	if fmt.Sprint(ids) != want {
		t.Errorf("order = %v, want %v", ids, want)
	}
	none, err := s.ListAccessKeys(ctx, "arn:aws:iam::"+acct+":user/nobody")
	if err != nil || len(none) != 0 {
		t.Errorf("ListAccessKeys(nobody) = %v, %v", none, err)
	}
}

func testSetAccessKeyStatus(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreateAccount(t, s, acct)
	k := rootKey("AKIASTATUS0000000001")
	if err := s.CreateAccessKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		id      string
		status  store.KeyStatus
		wantErr error // nil: success; errAny: some error
	}{
		{"deactivate", k.AccessKeyID, store.KeyInactive, nil},
		{"deactivate again", k.AccessKeyID, store.KeyInactive, nil},
		{"reactivate", k.AccessKeyID, store.KeyActive, nil},
		{"missing", "AKIAMISSING000000001", store.KeyInactive, store.ErrNotFound},
		{"invalid", k.AccessKeyID, "Expired", errAny},
		{"empty", k.AccessKeyID, "", errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.SetAccessKeyStatus(ctx, tt.id, tt.status)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr != nil {
				return
			}
			got, err := s.GetAccessKey(ctx, tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.status {
				t.Errorf("Status = %q, want %q", got.Status, tt.status)
			}
		})
	}
	got, _ := s.GetAccessKey(ctx, k.AccessKeyID)
	if got.Status != store.KeyActive {
		t.Errorf("a rejected status changed the key to %q", got.Status)
	}
}

var errAny = errors.New("any error")

func checkErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want == errAny && err == nil:
		t.Fatal("expected an error")
	case want != nil && want != errAny && !errors.Is(err, want):
		t.Fatalf("error = %v, want %v", err, want)
	}
}

func testTouchAccessKey(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreateAccount(t, s, acct)
	k := rootKey("AKIATOUCH00000000001")
	if err := s.CreateAccessKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	used := at.Add(90 * time.Minute)
	if err := s.TouchAccessKey(ctx, k.AccessKeyID, used, "ap-south-1", "sts"); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAccessKey(ctx, k.AccessKeyID)
	if err != nil {
		t.Fatal(err)
	}
	checkTime(t, "LastUsedAt", got.LastUsedAt, used.UTC().Truncate(time.Microsecond))
	if got.LastUsedRegion != "ap-south-1" || got.LastUsedService != "sts" {
		t.Errorf("last used = %q/%q", got.LastUsedRegion, got.LastUsedService)
	}
	if got.Status != k.Status || !bytes.Equal(got.SealedSecret, k.SealedSecret) {
		t.Error("touch changed other fields")
	}
	later := used.Add(time.Second)
	if err := s.TouchAccessKey(ctx, k.AccessKeyID, later, "us-east-1", "iam"); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetAccessKey(ctx, k.AccessKeyID)
	checkTime(t, "LastUsedAt", got.LastUsedAt, later.UTC().Truncate(time.Microsecond))
	if err := s.TouchAccessKey(ctx, "AKIAMISSING000000001", used, "r", "s"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TouchAccessKey(missing) = %v, want ErrNotFound", err)
	}
}

func testDeleteAccessKey(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreateAccount(t, s, acct)
	k := rootKey("AKIADELETE0000000001")
	keep := rootKey("AKIAKEEP000000000001")
	for _, key := range []store.AccessKey{k, keep} {
		if err := s.CreateAccessKey(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteAccessKey(ctx, k.AccessKeyID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetAccessKey(ctx, k.AccessKeyID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetAccessKey(deleted) = %v, want ErrNotFound", err)
	}
	if err := s.DeleteAccessKey(ctx, k.AccessKeyID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteAccessKey(again) = %v, want ErrNotFound", err)
	}
	if _, err := s.GetAccessKey(ctx, keep.AccessKeyID); err != nil {
		t.Fatalf("other key gone: %v", err)
	}
	// The id is free again.
	if err := s.CreateAccessKey(ctx, k); err != nil {
		t.Fatalf("re-create deleted id: %v", err)
	}
}

func testMeta(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.GetMeta(ctx, "bootstrap"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetMeta(missing) = %v, want ErrNotFound", err)
	}
	binary := []byte{0, 1, 2, 0xff, 0xfe, 0, '\'', '"'}
	tests := []struct {
		key   string
		value []byte
	}{
		{"bootstrap", []byte("done")},
		{"binary", binary},
		{"empty", []byte{}},
		{"nil", nil},
		{"ünï/code key", []byte("x")},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			won, err := s.PutMetaIfAbsent(ctx, tt.key, tt.value)
			if err != nil || !won {
				t.Fatalf("PutMetaIfAbsent(first) = %v, %v", won, err)
			}
			won, err = s.PutMetaIfAbsent(ctx, tt.key, []byte("second"))
			if err != nil || won {
				t.Fatalf("PutMetaIfAbsent(second) = %v, %v", won, err)
			}
			got, err := s.GetMeta(ctx, tt.key)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || !bytes.Equal(got, tt.value) {
				t.Errorf("GetMeta = %q (nil=%v), want %q", got, got == nil, tt.value)
			}
		})
	}
}

func testMetaRacers(t *testing.T, s store.Store) {
	ctx := t.Context()
	const racers = 16
	for round := range 5 {
		key := fmt.Sprintf("race-%d", round)
		var wg sync.WaitGroup
		start := make(chan struct{})
		won := make([]bool, racers)
		errs := make([]error, racers)
		for i := range racers {
			wg.Go(func() {
				<-start
				won[i], errs[i] = s.PutMetaIfAbsent(ctx, key, []byte{byte(i)})
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i := range racers {
			if errs[i] != nil {
				t.Fatalf("racer %d: %v", i, errs[i])
			}
			if won[i] {
				if winner >= 0 {
					t.Fatalf("racers %d and %d both won", winner, i)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatal("no racer won")
		}
		got, err := s.GetMeta(ctx, key)
		if err != nil || !bytes.Equal(got, []byte{byte(winner)}) {
			t.Fatalf("stored %v, %v; winner was %d", got, err, winner)
		}
	}
}

func testConcurrentWriters(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreateAccount(t, s, acct)
	const writers, perWriter = 8, 25
	arn := "arn:aws:iam::" + acct + ":user/load"
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				k := rootKey(fmt.Sprintf("AKIAW%02dK%05d0000000", w, i))
				k.PrincipalARN = arn
				if err := s.CreateAccessKey(ctx, k); err != nil {
					errs <- err
					return
				}
				if err := s.TouchAccessKey(ctx, k.AccessKeyID, at, "us-east-1", "sts"); err != nil {
					errs <- err
					return
				}
				if _, err := s.GetAccessKey(ctx, k.AccessKeyID); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("writer: %v", err)
	}
	keys, err := s.ListAccessKeys(ctx, arn)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != writers*perWriter {
		t.Fatalf("got %d keys, want %d", len(keys), writers*perWriter)
	}
}

func testReset(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreateAccount(t, s, acct)
	for i := range 1000 {
		if err := s.CreateAccessKey(ctx, rootKey(fmt.Sprintf("AKIARESET%011d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PutMetaIfAbsent(ctx, "bootstrap", []byte("done")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("Reset of 1,002 rows took %v", time.Since(start))
	if list, err := s.ListAccounts(ctx); err != nil || len(list) != 0 {
		t.Fatalf("accounts after Reset = %v, %v", list, err)
	}
	if list, err := s.ListAccessKeys(ctx, rootKey("").PrincipalARN); err != nil || len(list) != 0 {
		t.Fatalf("%d access keys after Reset, %v", len(list), err)
	}
	if _, err := s.GetMeta(ctx, "bootstrap"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("meta after Reset: %v", err)
	}
	// The schema survives: the store works as new.
	mustCreateAccount(t, s, acct)
	if err := s.CreateAccessKey(ctx, rootKey("AKIARESET00000000000")); err != nil {
		t.Fatal(err)
	}
	if won, err := s.PutMetaIfAbsent(ctx, "bootstrap", []byte("again")); err != nil || !won {
		t.Fatalf("PutMetaIfAbsent after Reset = %v, %v", won, err)
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatalf("second Reset: %v", err)
	}
}

func testCanceledContext(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.GetAccount(ctx, acct); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetAccount(canceled) = %v, want a context error", err)
	}
	if err := s.CreateAccount(ctx, store.Account{ID: acct, CreatedAt: at}); err == nil {
		t.Error("CreateAccount(canceled) succeeded")
	}
	// The store still works afterwards.
	mustCreateAccount(t, s, acct)
	if _, err := s.GetAccount(t.Context(), acct); err != nil {
		t.Fatalf("after cancellation: %v", err)
	}
}

func testPingClose(t *testing.T, s store.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Error("Ping after Close succeeded")
	}
}
