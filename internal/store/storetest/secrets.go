package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

// SecretsStore is a store with its Secrets Manager part.
type SecretsStore = interface {
	store.Store
	store.Secrets
}

// RunSecrets runs the conformance suite of store.Secrets. Each subtest
// calls open for a fresh, empty, migrated store.
func RunSecrets(t *testing.T, open func(t *testing.T) SecretsStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s SecretsStore)
	}{
		{"CreateGet", testSecretsCreateGet},
		{"List", testSecretsList},
		{"UpdateCAS", testSecretsUpdateCAS},
		{"Touch", testSecretsTouch},
		{"Versions", testSecretsVersions},
		{"MoveStage", testSecretsMoveStage},
		{"FillPlaceholder", testSecretsFillPlaceholder},
		{"Prune", testSecretsPrune},
		{"DeletePurge", testSecretsDeletePurge},
		{"RacePutVersion", testSecretsRacePutVersion},
		{"RacePurge", testSecretsRacePurge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			mustCreateAccount(t, s, acct)
			tt.fn(t, s)
		})
	}
}

const secRegion = "us-east-1"

func secretARN(name string) string {
	return "arn:aws:secretsmanager:" + secRegion + ":" + acct + ":secret:" + name + "-AbCdEf"
}

func newSecret(name string) store.Secret {
	return store.Secret{ARN: secretARN(name), AccountID: acct, Region: secRegion, Name: name,
		Description: "d", Tags: []store.Tag{{Key: "team", Value: "db"}, {Key: "a", Value: ""}},
		CreatedAt: at, LastChangedAt: at}
}

func newVersion(name, id string, stages ...string) store.SecretVersion {
	return store.SecretVersion{SecretARN: secretARN(name), VersionID: id, KMSKeyARN: "arn:aws:kms:us-east-1:" + acct + ":key/k",
		EncryptedKey: []byte{1, 2, 3}, Ciphertext: []byte("sealed-" + id), Stages: stages}
}

func stagesByVersion(t *testing.T, s SecretsStore, name string) map[string][]string {
	t.Helper()
	vs, err := s.ListSecretVersions(context.Background(), secretARN(name))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, v := range vs {
		out[v.VersionID] = v.Stages
	}
	return out
}

func testSecretsCreateGet(t *testing.T, s SecretsStore) {
	ctx := context.Background()
	sec := newSecret("db/creds")
	sec.RotationEnabled, sec.RotationAfterDays, sec.RotationSchedule = true, 30, "rate(10 days)"
	sec.NextRotationAt = at.Add(time.Hour)
	v := newVersion("db/creds", "v1", store.StageCurrent)
	must(t, s.CreateSecret(ctx, sec, &v))
	got, err := s.GetSecret(ctx, sec.ARN)
	must(t, err)
	want := sec
	want.CreatedAt, want.LastChangedAt, want.NextRotationAt = wantTime, wantTime, wantTime.Add(time.Hour)
	want.Rev = 1
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("GetSecret = %+v\nwant %+v", got, want)
	}
	byName, err := s.GetSecretByName(ctx, acct, secRegion, "db/creds")
	must(t, err)
	if byName.ARN != sec.ARN {
		t.Fatalf("GetSecretByName ARN = %q", byName.ARN)
	}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"nope", store.ErrNotFound},
	} {
		if _, err := s.GetSecretByName(ctx, acct, secRegion, tc.name); !errors.Is(err, tc.err) {
			t.Errorf("GetSecretByName(%q) = %v, want %v", tc.name, err, tc.err)
		}
	}
	if _, err := s.GetSecretByName(ctx, acct, "eu-west-1", "db/creds"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("other region: %v", err)
	}
	// Same name, other ARN suffix: conflict.
	dup := newSecret("db/creds")
	dup.ARN += "x"
	if err := s.CreateSecret(ctx, dup, nil); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate name = %v, want ErrConflict", err)
	}
	other := newSecret("x")
	other.AccountID = otherAcct
	if err := s.CreateSecret(ctx, other, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown account = %v, want ErrNotFound", err)
	}
	gv, err := s.GetSecretVersionByStage(ctx, sec.ARN, store.StageCurrent)
	must(t, err)
	if gv.VersionID != "v1" || string(gv.Ciphertext) != "sealed-v1" || !reflect.DeepEqual(gv.Stages, []string{store.StageCurrent}) ||
		!gv.CreatedAt.Equal(wantTime) || gv.Binary {
		t.Fatalf("current version = %+v", gv)
	}
}

func testSecretsList(t *testing.T, s SecretsStore) {
	ctx := context.Background()
	for i, n := range []string{"c", "a", "b"} {
		sec := newSecret(n)
		sec.CreatedAt = at.Add(time.Duration(i) * time.Second)
		must(t, s.CreateSecret(ctx, sec, nil))
	}
	got, err := s.ListSecrets(ctx, acct, secRegion)
	must(t, err)
	var names []string
	for _, sec := range got {
		names = append(names, sec.Name)
	}
	checkNames(t, "ListSecrets", names, "c", "a", "b")
	if got, _ := s.ListSecrets(ctx, acct, "eu-west-1"); len(got) != 0 {
		t.Errorf("other region lists %d", len(got))
	}
}

func testSecretsUpdateCAS(t *testing.T, s SecretsStore) {
	ctx := context.Background()
	must(t, s.CreateSecret(ctx, newSecret("u"), nil))
	sec, err := s.GetSecret(ctx, secretARN("u"))
	must(t, err)
	sec.Description, sec.ResourcePolicy, sec.Tags = "new", `{"Version":"2012-10-17"}`, nil
	sec.DeletedAt, sec.PurgeAt = at, at.Add(7*24*time.Hour)
	up, err := s.UpdateSecret(ctx, sec)
	must(t, err)
	if up.Rev != sec.Rev+1 || up.Description != "new" || len(up.Tags) != 0 || up.ResourcePolicy == "" || !up.DeletedAt.Equal(wantTime) {
		t.Fatalf("updated = %+v", up)
	}
	// The stale copy loses.
	if _, err := s.UpdateSecret(ctx, sec); !errors.Is(err, store.ErrStale) {
		t.Fatalf("stale update = %v, want ErrStale", err)
	}
	// A version write also makes a copy stale.
	must(t, s.PutSecretVersion(ctx, newVersion("u", "v1", store.StageCurrent), at, 100, 0))
	if _, err := s.UpdateSecret(ctx, up); !errors.Is(err, store.ErrStale) {
		t.Fatalf("update after put = %v, want ErrStale", err)
	}
	gone := newSecret("gone")
	if _, err := s.UpdateSecret(ctx, gone); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update missing = %v, want ErrNotFound", err)
	}
}

func testSecretsTouch(t *testing.T, s SecretsStore) {
	ctx := context.Background()
	v := newVersion("t", "v1", store.StageCurrent)
	must(t, s.CreateSecret(ctx, newSecret("t"), &v))
	day := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	must(t, s.TouchSecret(ctx, secretARN("t"), "v1", day))
	must(t, s.TouchSecret(ctx, secretARN("t"), "v1", day.Add(-24*time.Hour))) // older: no change
	must(t, s.TouchSecret(ctx, secretARN("t"), "", day))
	got, err := s.GetSecret(ctx, secretARN("t"))
	must(t, err)
	if !got.LastAccessedAt.Equal(day) || got.Rev != 1 {
		t.Fatalf("after touch: %v rev %d", got.LastAccessedAt, got.Rev)
	}
	gv, err := s.GetSecretVersion(ctx, secretARN("t"), "v1")
	must(t, err)
	if !gv.LastAccessedAt.Equal(day) {
		t.Fatalf("version after touch: %v", gv.LastAccessedAt)
	}
	if err := s.TouchSecret(ctx, secretARN("none"), "", day); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("touch missing = %v", err)
	}
}

func testSecretsVersions(t *testing.T, s SecretsStore) {
	ctx := context.Background()
	v1 := newVersion("v", "v1", store.StageCurrent)
	must(t, s.CreateSecret(ctx, newSecret("v"), &v1))
	if err := s.PutSecretVersion(ctx, newVersion("v", "v1", store.StageCurrent), at, 100, 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate version = %v, want ErrConflict", err)
	}
	must(t, s.PutSecretVersion(ctx, newVersion("v", "v2", store.StageCurrent, "custom"), at.Add(time.Second), 100, 0))
	if got, want := stagesByVersion(t, s, "v"), map[string][]string{"v2": {store.StageCurrent, "custom"}, "v1": {store.StagePrevious}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after v2: %v, want %v", got, want)
	}
	must(t, s.PutSecretVersion(ctx, newVersion("v", "v3", store.StageCurrent), at.Add(2*time.Second), 100, 0))
	if got, want := stagesByVersion(t, s, "v"), map[string][]string{"v3": {store.StageCurrent}, "v2": {store.StagePrevious, "custom"}, "v1": nil}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after v3: %v, want %v", got, want)
	}
	// A pending version moves no other label.
	must(t, s.PutSecretVersion(ctx, newVersion("v", "v4", store.StagePending), at.Add(3*time.Second), 100, 0))
	vs, err := s.ListSecretVersions(ctx, secretARN("v"))
	must(t, err)
	var ids []string
	for _, v := range vs {
		ids = append(ids, v.VersionID)
	}
	checkNames(t, "versions newest first", ids, "v4", "v3", "v2", "v1")
	sec, err := s.GetSecret(ctx, secretARN("v"))
	must(t, err)
	if !sec.LastChangedAt.Equal(wantTime.Add(3 * time.Second)) {
		t.Fatalf("LastChangedAt = %v", sec.LastChangedAt)
	}
	if _, err := s.GetSecretVersion(ctx, secretARN("v"), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing version = %v", err)
	}
	if _, err := s.GetSecretVersionByStage(ctx, secretARN("v"), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing stage = %v", err)
	}
	if err := s.PutSecretVersion(ctx, newVersion("none", "x"), at, 100, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("version of missing secret = %v", err)
	}
	if _, err := s.ListSecretVersions(ctx, secretARN("none")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("versions of missing secret = %v", err)
	}
}

func testSecretsMoveStage(t *testing.T, s SecretsStore) {
	ctx := context.Background()
	v1 := newVersion("m", "v1", store.StageCurrent)
	arn := secretARN("m")
	must(t, s.CreateSecret(ctx, newSecret("m"), &v1))
	must(t, s.PutSecretVersion(ctx, newVersion("m", "v2", store.StagePending), at, 100, 0))
	if err := s.MoveSecretStage(ctx, arn, store.StageCurrent, "v2", "v2", at); !errors.Is(err, store.ErrStale) {
		t.Fatalf("wrong from = %v, want ErrStale", err)
	}
	if err := s.MoveSecretStage(ctx, arn, store.StageCurrent, "v1", "nope", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing to = %v, want ErrNotFound", err)
	}
	must(t, s.MoveSecretStage(ctx, arn, store.StageCurrent, "v1", "v2", at))
	must(t, s.MoveSecretStage(ctx, arn, store.StagePending, "v2", "", at))
	if got, want := stagesByVersion(t, s, "m"), map[string][]string{"v2": {store.StageCurrent}, "v1": {store.StagePrevious}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after moves: %v, want %v", got, want)
	}
	must(t, s.MoveSecretStage(ctx, arn, "label", "", "v1", at))
	if err := s.MoveSecretStage(ctx, arn, "label", "", "v2", at); !errors.Is(err, store.ErrStale) {
		t.Fatalf("label held elsewhere = %v, want ErrStale", err)
	}
	if err := s.MoveSecretStage(ctx, secretARN("none"), "label", "", "v2", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing secret = %v", err)
	}

	// Re-encryption replaces the envelope only.
	re := newVersion("m", "v1")
	re.KMSKeyARN, re.EncryptedKey, re.Ciphertext = "arn:aws:kms:us-east-1:"+acct+":key/new", []byte{9}, []byte("resealed")
	must(t, s.ReencryptSecretVersion(ctx, re))
	got, err := s.GetSecretVersion(ctx, arn, "v1")
	must(t, err)
	if got.KMSKeyARN != re.KMSKeyARN || string(got.Ciphertext) != "resealed" || string(got.EncryptedKey) != "\x09" ||
		!reflect.DeepEqual(got.Stages, []string{store.StagePrevious, "label"}) {
		t.Fatalf("after re-encryption: %+v", got)
	}
	re.VersionID = "nope"
	if err := s.ReencryptSecretVersion(ctx, re); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("re-encrypt missing version = %v", err)
	}
}

// A rotation's value-less AWSPENDING placeholder is filled once, and the
// labels the fill names move to it.
func testSecretsFillPlaceholder(t *testing.T, s SecretsStore) {
	ctx := context.Background()
	must(t, s.CreateSecret(ctx, newSecret("ph"), nil))
	must(t, s.PutSecretVersion(ctx, newVersion("ph", "v1", store.StageCurrent), at, 100, 0))
	must(t, s.PutSecretVersion(ctx, store.SecretVersion{SecretARN: secretARN("ph"), VersionID: "p", Stages: []string{store.StagePending}}, at, 100, 0))
	got, err := s.GetSecretVersion(ctx, secretARN("ph"), "p")
	must(t, err)
	if len(got.Ciphertext) != 0 || len(got.EncryptedKey) != 0 || got.KMSKeyARN != "" {
		t.Fatalf("placeholder = %+v", got)
	}
	fill := newVersion("ph", "p", store.StageCurrent)
	fill.Binary = true
	must(t, s.FillSecretVersion(ctx, fill, at.Add(time.Second)))
	got, err = s.GetSecretVersion(ctx, secretARN("ph"), "p")
	must(t, err)
	if string(got.Ciphertext) != "sealed-p" || !got.Binary || got.KMSKeyARN != fill.KMSKeyARN ||
		!reflect.DeepEqual(got.Stages, []string{store.StageCurrent, store.StagePending}) {
		t.Fatalf("filled = %+v", got)
	}
	if st := stagesByVersion(t, s, "ph"); !reflect.DeepEqual(st["v1"], []string{store.StagePrevious}) {
		t.Fatalf("stages after fill = %v", st)
	}
	if err := s.FillSecretVersion(ctx, fill, at); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second fill = %v", err)
	}
	fill.VersionID = "nope"
	if err := s.FillSecretVersion(ctx, fill, at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("fill of a missing version = %v", err)
	}
}

func testSecretsPrune(t *testing.T, s SecretsStore) {
	ctx := context.Background()
	must(t, s.CreateSecret(ctx, newSecret("p"), nil))
	// Ten old versions, each current in turn: all but the newest two end
	// deprecated.
	for i := range 10 {
		must(t, s.PutSecretVersion(ctx, newVersion("p", fmt.Sprintf("old%d", i), store.StageCurrent), at.Add(time.Duration(i)*time.Second), 3, 0))
	}
	later := at.Add(48 * time.Hour)
	must(t, s.PutSecretVersion(ctx, newVersion("p", "new", store.StageCurrent), later, 3, 0))
	got := stagesByVersion(t, s, "p")
	// new (current), old9 (previous), and the 3 newest deprecated.
	if len(got) != 5 {
		t.Fatalf("after prune %d versions: %v", len(got), got)
	}
	for _, id := range []string{"new", "old9", "old8", "old7", "old6"} {
		if _, ok := got[id]; !ok {
			t.Errorf("version %s pruned", id)
		}
	}
	if err := s.PutSecretVersion(ctx, newVersion("p", "over", "x"), later, 3, 5); !errors.Is(err, store.ErrLimit) {
		t.Fatalf("over the limit = %v, want ErrLimit", err)
	}
	if _, err := s.GetSecretVersion(ctx, secretARN("p"), "over"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("refused version was stored: %v", err)
	}
}

func testSecretsDeletePurge(t *testing.T, s SecretsStore) {
	ctx := context.Background()
	v := newVersion("d", "v1", store.StageCurrent)
	must(t, s.CreateSecret(ctx, newSecret("d"), &v))
	must(t, s.DeleteSecret(ctx, secretARN("d")))
	if _, err := s.GetSecret(ctx, secretARN("d")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if _, err := s.GetSecretVersion(ctx, secretARN("d"), "v1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("version after delete: %v", err)
	}
	if err := s.DeleteSecret(ctx, secretARN("d")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	// The name is free again.
	must(t, s.CreateSecret(ctx, newSecret("d"), &v))

	for i, n := range []string{"due1", "due2", "later", "kept"} {
		sec := newSecret(n)
		if n != "kept" {
			sec.DeletedAt, sec.PurgeAt = at, at.Add(time.Duration(i)*time.Hour)
		}
		if n == "later" {
			sec.PurgeAt = at.Add(100 * time.Hour)
		}
		v := newVersion(n, "v1", store.StageCurrent)
		must(t, s.CreateSecret(ctx, sec, &v))
	}
	purged, err := s.PurgeSecrets(ctx, at.Add(10*time.Hour), 100)
	must(t, err)
	checkNames(t, "purged", purged, secretARN("due1"), secretARN("due2"))
	purged, err = s.PurgeSecrets(ctx, at.Add(10*time.Hour), 100)
	must(t, err)
	if len(purged) != 0 {
		t.Fatalf("purged twice: %v", purged)
	}
	for _, n := range []string{"later", "kept"} {
		if _, err := s.GetSecret(ctx, secretARN(n)); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}

func testSecretsRacePutVersion(t *testing.T, s SecretsStore) {
	ctx := context.Background()
	v := newVersion("r", "v0", store.StageCurrent)
	must(t, s.CreateSecret(ctx, newSecret("r"), &v))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.PutSecretVersion(ctx, newVersion("r", fmt.Sprintf("v%d", i+1), store.StageCurrent), at, 100, 0)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	counts := map[string]int{}
	for _, stages := range stagesByVersion(t, s, "r") {
		for _, st := range stages {
			counts[st]++
		}
	}
	if counts[store.StageCurrent] != 1 || counts[store.StagePrevious] != 1 {
		t.Fatalf("labels after racing puts: %v", counts)
	}
	sec, err := s.GetSecret(ctx, secretARN("r"))
	must(t, err)
	if sec.Rev != 17 {
		t.Fatalf("rev = %d, want 17", sec.Rev)
	}
}

func testSecretsRacePurge(t *testing.T, s SecretsStore) {
	ctx := context.Background()
	for i := range 10 {
		sec := newSecret(fmt.Sprintf("p%d", i))
		sec.DeletedAt, sec.PurgeAt = at, at
		must(t, s.CreateSecret(ctx, sec, nil))
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.PurgeSecrets(ctx, at.Add(time.Hour), 100)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, a := range got {
				seen[a]++
			}
		}()
	}
	wg.Wait()
	if len(seen) != 10 {
		t.Fatalf("purged %d secrets, want 10", len(seen))
	}
	for a, n := range seen {
		if n != 1 {
			t.Errorf("%s reported purged %d times", a, n)
		}
	}
}
