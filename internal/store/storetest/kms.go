package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

// KMSStore is a store with its KMS part, as both backends implement it.
type KMSStore = interface {
	store.Store
	store.KMS
}

// RunKMS runs the conformance suite of store.KMS. Each subtest calls open
// for a fresh, empty, migrated store.
func RunKMS(t *testing.T, open func(t *testing.T) KMSStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s KMSStore)
	}{
		{"KeyRoundTrip", testKMSKeyRoundTrip},
		{"KeyErrors", testKMSKeyErrors},
		{"UpdateGen", testKMSUpdateGen},
		{"ListKeys", testKMSListKeys},
		{"Rotate", testKMSRotate},
		{"Due", testKMSDue},
		{"Delete", testKMSDelete},
		{"Aliases", testKMSAliases},
		{"Grants", testKMSGrants},
		{"RotateRacers", testKMSRotateRacers},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			mustCreateAccount(t, s, acct)
			tt.fn(t, s)
		})
	}
}

func kmsKey(id string) store.KMSKey {
	return store.KMSKey{
		KeyID: id, AccountID: acct, Region: "us-east-1",
		ARN:         "arn:aws:kms:us-east-1:" + acct + ":key/" + id,
		Description: "d", KeySpec: "SYMMETRIC_DEFAULT", KeyUsage: "ENCRYPT_DECRYPT", Origin: "AWS_KMS",
		Manager: "CUSTOMER", State: "Enabled", CreatedAt: wantTime, Policy: `{"Version":"2012-10-17"}`,
		CurrentVersion: 1, PublicKey: []byte{}, Gen: 1,
	}
}

func kmsMat(id string, v int) store.KMSKeyMaterial {
	return store.KMSKeyMaterial{KeyID: id, Version: v, Sealed: []byte(fmt.Sprintf("sealed-%s-%d", id, v)), CreatedAt: wantTime}
}

func mustKMSKey(t *testing.T, s KMSStore, id string) store.KMSKey {
	t.Helper()
	k := kmsKey(id)
	must(t, s.CreateKMSKey(t.Context(), k, kmsMat(id, 1), nil))
	return k
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

func testKMSKeyRoundTrip(t *testing.T, s KMSStore) {
	ctx := t.Context()
	k := kmsKey("k1")
	k.Tags = []store.Tag{{Key: "b", Value: "2"}, {Key: "a", Value: "1"}}
	k.PublicKey = []byte{0x30, 0x01, 0x00}
	k.RotationPeriodDays = 365
	k.NextRotation = at.Add(time.Hour)
	must(t, s.CreateKMSKey(ctx, k, kmsMat("k1", 1), nil))
	got, err := s.GetKMSKey(ctx, "k1")
	must(t, err)
	k.NextRotation = k.NextRotation.UTC().Truncate(time.Microsecond)
	if !reflect.DeepEqual(got, k) {
		t.Errorf("GetKMSKey:\n got %+v\nwant %+v", got, k)
	}
	m, err := s.GetKMSKeyMaterial(ctx, "k1", 1)
	must(t, err)
	if want := kmsMat("k1", 1); !reflect.DeepEqual(m, want) {
		t.Errorf("GetKMSKeyMaterial = %+v, want %+v", m, want)
	}
	plain := mustKMSKey(t, s, "k2")
	got, err = s.GetKMSKey(ctx, "k2")
	must(t, err)
	if got.Tags != nil || !got.DeletionDate.IsZero() || !got.NextRotation.IsZero() || got.PublicKey == nil {
		t.Errorf("zero fields do not round-trip: %+v (created %+v)", got, plain)
	}
}

func testKMSKeyErrors(t *testing.T, s KMSStore) {
	ctx := t.Context()
	mustKMSKey(t, s, "k1")
	wantErr(t, "duplicate key", s.CreateKMSKey(ctx, kmsKey("k1"), kmsMat("k1", 1), nil), store.ErrConflict)
	_, err := s.GetKMSKey(ctx, "nope")
	wantErr(t, "missing key", err, store.ErrNotFound)
	_, err = s.GetKMSKey(ctx, "bad\x00key\xff")
	wantErr(t, "unstorable key id", err, store.ErrNotFound)
	_, err = s.GetKMSKeyMaterial(ctx, "k1", 2)
	wantErr(t, "missing material", err, store.ErrNotFound)
	other := kmsKey("k3")
	other.AccountID = "999999999999"
	wantErr(t, "unknown account", s.CreateKMSKey(ctx, other, kmsMat("k3", 1), nil), store.ErrNotFound)
	// An alias conflict rolls the whole creation back.
	alias := store.KMSAlias{AccountID: acct, Region: "us-east-1", Name: "alias/aws/x", KeyID: "k1", CreatedAt: wantTime, UpdatedAt: wantTime}
	must(t, s.CreateKMSAlias(ctx, alias))
	alias.KeyID = "k4"
	wantErr(t, "alias taken", s.CreateKMSKey(ctx, kmsKey("k4"), kmsMat("k4", 1), &alias), store.ErrConflict)
	_, err = s.GetKMSKey(ctx, "k4")
	wantErr(t, "key of a failed creation", err, store.ErrNotFound)
}

func testKMSUpdateGen(t *testing.T, s KMSStore) {
	ctx := t.Context()
	k := mustKMSKey(t, s, "k1")
	k.Description, k.State, k.Policy = "new", "PendingDeletion", "{}"
	k.DeletionDate, k.PendingWindowDays = at.Add(7*24*time.Hour), 7
	k.Tags = []store.Tag{{Key: "x", Value: "y"}}
	gen, err := s.UpdateKMSKey(ctx, k)
	must(t, err)
	if gen != 2 {
		t.Errorf("gen after update = %d, want 2", gen)
	}
	_, err = s.UpdateKMSKey(ctx, k) // stale gen
	wantErr(t, "stale update", err, store.ErrConflict)
	got, err := s.GetKMSKey(ctx, "k1")
	must(t, err)
	if got.Gen != 2 || got.Description != "new" || got.State != "PendingDeletion" || got.PendingWindowDays != 7 ||
		!got.DeletionDate.Equal(at.Add(7*24*time.Hour).Truncate(time.Microsecond)) || len(got.Tags) != 1 || got.Policy != "{}" {
		t.Errorf("after update: %+v", got)
	}
	k.KeyID = "nope"
	_, err = s.UpdateKMSKey(ctx, k)
	wantErr(t, "update missing", err, store.ErrNotFound)
}

func testKMSListKeys(t *testing.T, s KMSStore) {
	ctx := t.Context()
	for _, id := range []string{"c", "a", "b", "d"} {
		mustKMSKey(t, s, id)
	}
	other := kmsKey("e")
	other.Region = "eu-west-1"
	must(t, s.CreateKMSKey(ctx, other, kmsMat("e", 1), nil))
	var ids []string
	after := ""
	for {
		page, err := s.ListKMSKeys(ctx, acct, "us-east-1", after, 3)
		must(t, err)
		for _, k := range page {
			ids = append(ids, k.KeyID)
		}
		if len(page) < 3 {
			break
		}
		after = page[len(page)-1].KeyID
	}
	if want := []string{"a", "b", "c", "d"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("ListKMSKeys pages = %v, want %v", ids, want)
	}
}

func testKMSRotate(t *testing.T, s KMSStore) {
	ctx := t.Context()
	mustKMSKey(t, s, "k1")
	next := at.Add(90 * 24 * time.Hour)
	m := store.KMSKeyMaterial{Sealed: []byte("v2"), RotationType: "ON_DEMAND", CreatedAt: wantTime}
	must(t, s.RotateKMSKey(ctx, "k1", 1, m, next))
	wantErr(t, "rotate from a stale version", s.RotateKMSKey(ctx, "k1", 1, m, next), store.ErrConflict)
	wantErr(t, "rotate a missing key", s.RotateKMSKey(ctx, "nope", 1, m, next), store.ErrNotFound)
	k, err := s.GetKMSKey(ctx, "k1")
	must(t, err)
	if k.CurrentVersion != 2 || k.Gen != 2 || !k.NextRotation.Equal(next.Truncate(time.Microsecond)) {
		t.Errorf("after rotation: version %d gen %d next %v", k.CurrentVersion, k.Gen, k.NextRotation)
	}
	ms, err := s.ListKMSKeyMaterial(ctx, "k1")
	must(t, err)
	if len(ms) != 2 || ms[0].Version != 1 || ms[1].Version != 2 || string(ms[1].Sealed) != "v2" || ms[1].RotationType != "ON_DEMAND" {
		t.Errorf("material after rotation: %+v", ms)
	}
}

func testKMSDue(t *testing.T, s KMSStore) {
	ctx := t.Context()
	due := kmsKey("due")
	due.RotationPeriodDays, due.NextRotation = 90, at.Add(-time.Minute)
	must(t, s.CreateKMSKey(ctx, due, kmsMat("due", 1), nil))
	later := kmsKey("later")
	later.RotationPeriodDays, later.NextRotation = 90, at.Add(time.Hour)
	must(t, s.CreateKMSKey(ctx, later, kmsMat("later", 1), nil))
	off := kmsKey("disabled")
	off.State, off.RotationPeriodDays, off.NextRotation = "Disabled", 90, at.Add(-time.Hour)
	must(t, s.CreateKMSKey(ctx, off, kmsMat("disabled", 1), nil))
	gone := kmsKey("gone")
	gone.State, gone.DeletionDate, gone.PendingWindowDays = "PendingDeletion", at.Add(-time.Second), 7
	must(t, s.CreateKMSKey(ctx, gone, kmsMat("gone", 1), nil))
	rot, rem, err := s.DueKMSKeys(ctx, at, 10)
	must(t, err)
	if len(rot) != 1 || rot[0].KeyID != "due" || len(rem) != 1 || rem[0].KeyID != "gone" {
		t.Errorf("DueKMSKeys = %v, %v", rot, rem)
	}
}

func testKMSDelete(t *testing.T, s KMSStore) {
	ctx := t.Context()
	k := kmsKey("k1")
	k.State = "PendingDeletion"
	must(t, s.CreateKMSKey(ctx, k, kmsMat("k1", 1),
		&store.KMSAlias{AccountID: acct, Region: "us-east-1", Name: "alias/a", KeyID: "k1", CreatedAt: wantTime, UpdatedAt: wantTime}))
	must(t, s.CreateKMSGrant(ctx, store.KMSGrant{GrantID: "g1", KeyID: "k1", Grantee: "p", IssuingAccount: acct,
		Operations: []string{"Decrypt"}, TokenHash: []byte("t1"), CreatedAt: wantTime}, 10))
	wantErr(t, "delete with a stale gen", s.DeleteKMSKey(ctx, "k1", 1), store.ErrConflict) // the grant bumped it
	must(t, s.DeleteKMSKey(ctx, "k1", 2))
	_, err := s.GetKMSKey(ctx, "k1")
	wantErr(t, "deleted key", err, store.ErrNotFound)
	_, err = s.GetKMSAlias(ctx, acct, "us-east-1", "alias/a")
	wantErr(t, "alias of a deleted key", err, store.ErrNotFound)
	_, err = s.GetKMSGrantByToken(ctx, []byte("t1"))
	wantErr(t, "grant of a deleted key", err, store.ErrNotFound)
	enabled := mustKMSKey(t, s, "k2")
	wantErr(t, "delete an enabled key", s.DeleteKMSKey(ctx, "k2", enabled.Gen), store.ErrConflict)
}

func testKMSAliases(t *testing.T, s KMSStore) {
	ctx := t.Context()
	mustKMSKey(t, s, "k1")
	mustKMSKey(t, s, "k2")
	a := func(name, key string) store.KMSAlias {
		return store.KMSAlias{AccountID: acct, Region: "us-east-1", Name: name, KeyID: key, CreatedAt: wantTime, UpdatedAt: wantTime}
	}
	must(t, s.CreateKMSAlias(ctx, a("alias/b", "k1")))
	must(t, s.CreateKMSAlias(ctx, a("alias/a", "k2")))
	must(t, s.CreateKMSAlias(ctx, a("alias/c", "k1")))
	wantErr(t, "duplicate alias", s.CreateKMSAlias(ctx, a("alias/b", "k2")), store.ErrConflict)
	wantErr(t, "alias to a missing key", s.CreateKMSAlias(ctx, a("alias/z", "nope")), store.ErrNotFound)
	got, err := s.GetKMSAlias(ctx, acct, "us-east-1", "alias/b")
	must(t, err)
	if !reflect.DeepEqual(got, a("alias/b", "k1")) {
		t.Errorf("GetKMSAlias = %+v", got)
	}
	later := at.Add(time.Hour)
	must(t, s.UpdateKMSAlias(ctx, acct, "us-east-1", "alias/b", "k2", later))
	wantErr(t, "update a missing alias", s.UpdateKMSAlias(ctx, acct, "us-east-1", "alias/x", "k2", later), store.ErrNotFound)
	wantErr(t, "update to a missing key", s.UpdateKMSAlias(ctx, acct, "us-east-1", "alias/b", "nope", later), store.ErrNotFound)
	all, err := s.ListKMSAliases(ctx, acct, "us-east-1", "", "", 10)
	must(t, err)
	if len(all) != 3 || all[0].Name != "alias/a" || all[1].KeyID != "k2" || !all[1].UpdatedAt.Equal(later.Truncate(time.Microsecond)) {
		t.Errorf("ListKMSAliases = %+v", all)
	}
	ofKey, err := s.ListKMSAliases(ctx, acct, "us-east-1", "k2", "alias/a", 10)
	must(t, err)
	if len(ofKey) != 1 || ofKey[0].Name != "alias/b" {
		t.Errorf("ListKMSAliases(k2, after alias/a) = %+v", ofKey)
	}
	must(t, s.DeleteKMSAlias(ctx, acct, "us-east-1", "alias/a"))
	wantErr(t, "delete a missing alias", s.DeleteKMSAlias(ctx, acct, "us-east-1", "alias/a"), store.ErrNotFound)
}

func testKMSGrants(t *testing.T, s KMSStore) {
	ctx := t.Context()
	mustKMSKey(t, s, "k1")
	g := func(id, retiring string) store.KMSGrant {
		return store.KMSGrant{GrantID: id, KeyID: "k1", Name: "n-" + id, Grantee: "arn:aws:iam::" + acct + ":user/u",
			Retiring: retiring, IssuingAccount: acct, Operations: []string{"Encrypt", "Decrypt"},
			Constraints: `{"EncryptionContextSubset":{"a":"b"}}`, TokenHash: []byte("tok-" + id), CreatedAt: wantTime}
	}
	must(t, s.CreateKMSGrant(ctx, g("g2", "r"), 2))
	must(t, s.CreateKMSGrant(ctx, g("g1", "r"), 2))
	wantErr(t, "grant limit", s.CreateKMSGrant(ctx, g("g3", ""), 2), store.ErrLimitExceeded)
	other := g("g4", "")
	other.KeyID = "nope"
	wantErr(t, "grant on a missing key", s.CreateKMSGrant(ctx, other, 10), store.ErrNotFound)
	k, err := s.GetKMSKey(ctx, "k1")
	must(t, err)
	if k.Gen != 3 {
		t.Errorf("gen after two grants = %d, want 3", k.Gen)
	}
	all, err := s.ListKMSGrants(ctx, "k1")
	must(t, err)
	if len(all) != 2 || all[0].GrantID != "g1" || !reflect.DeepEqual(all[1], g("g2", "r")) {
		t.Errorf("ListKMSGrants = %+v", all)
	}
	ret, err := s.ListKMSRetirableGrants(ctx, "r", "g1", 10)
	must(t, err)
	if len(ret) != 1 || ret[0].GrantID != "g2" {
		t.Errorf("ListKMSRetirableGrants = %+v", ret)
	}
	byTok, err := s.GetKMSGrantByToken(ctx, []byte("tok-g1"))
	must(t, err)
	if byTok.GrantID != "g1" {
		t.Errorf("GetKMSGrantByToken = %+v", byTok)
	}
	must(t, s.DeleteKMSGrant(ctx, "k1", "g1"))
	wantErr(t, "delete a missing grant", s.DeleteKMSGrant(ctx, "k1", "g1"), store.ErrNotFound)
	if k, _ = s.GetKMSKey(ctx, "k1"); k.Gen != 4 {
		t.Errorf("gen after revoke = %d, want 4", k.Gen)
	}
}

// testKMSRotateRacers: of many concurrent rotations from one version,
// exactly one wins.
func testKMSRotateRacers(t *testing.T, s KMSStore) {
	ctx := t.Context()
	mustKMSKey(t, s, "k1")
	errs := race(10, func(int) error {
		return s.RotateKMSKey(ctx, "k1", 1, store.KMSKeyMaterial{Sealed: []byte("x"), RotationType: "AUTOMATIC", CreatedAt: wantTime}, at)
	})
	if ok, refused := tally(t, errs, store.ErrConflict); ok != 1 || refused != 9 {
		t.Errorf("rotations: %d won, %d refused; want 1 and 9", ok, refused)
	}
}
