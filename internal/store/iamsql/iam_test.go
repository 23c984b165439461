package iamsql

import (
	"reflect"
	"testing"

	"github.com/bulwark-security/bulwark/internal/store"
)

// The queries are tested against both backends by storetest.RunIAM (from
// the sqlite and postgres packages); these are the pure helpers.

func tg(k, v string) store.Tag { return store.Tag{Key: k, Value: v} }

func TestMergeTags(t *testing.T) {
	tests := []struct {
		name     string
		old, add []store.Tag
		want     []store.Tag
	}{
		{"none", nil, nil, nil},
		{"append in order", []store.Tag{tg("b", "1")}, []store.Tag{tg("c", "2"), tg("a", "3")}, []store.Tag{tg("b", "1"), tg("c", "2"), tg("a", "3")}},
		{"overwrite in place", []store.Tag{tg("a", "1"), tg("b", "2")}, []store.Tag{tg("a", "9")}, []store.Tag{tg("a", "9"), tg("b", "2")}},
		{"keys are case-sensitive", []store.Tag{tg("a", "1")}, []store.Tag{tg("A", "2")}, []store.Tag{tg("a", "1"), tg("A", "2")}},
		{"duplicates in one call: last wins", nil, []store.Tag{tg("a", "1"), tg("a", "2")}, []store.Tag{tg("a", "2")}},
		{"empty value", []store.Tag{tg("a", "1")}, []store.Tag{tg("a", "")}, []store.Tag{tg("a", "")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := append([]store.Tag(nil), tt.old...)
			if got := mergeTags(tt.old, tt.add); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("mergeTags = %v, want %v", got, tt.want)
			}
			if !reflect.DeepEqual(old, tt.old) {
				t.Errorf("mergeTags changed its input to %v", tt.old)
			}
		})
	}
}

func TestTagsRoundTrip(t *testing.T) {
	for _, tags := range [][]store.Tag{nil, {}, {tg("k", "v")}, {tg("ü\x00\"", "{}[]"), tg("", "")}} {
		enc, err := encodeTags(tags)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeTags(enc)
		if err != nil {
			t.Fatal(err)
		}
		want := tags
		if len(want) == 0 {
			want = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round trip of %q = %q via %s", tags, got, enc)
		}
	}
	if _, err := decodeTags("{"); err == nil {
		t.Error("decodeTags accepted broken JSON")
	}
}

func TestCutPolicies(t *testing.T) {
	mk := func(names ...string) []store.ManagedPolicy {
		var ps []store.ManagedPolicy
		for _, n := range names {
			ps = append(ps, store.ManagedPolicy{PolicyName: n})
		}
		return ps
	}
	tests := []struct {
		in   []string
		n    int
		want []string
		more bool
	}{
		{[]string{"a", "b"}, 2, []string{"a", "b"}, false},
		{[]string{"a", "b", "c"}, 2, []string{"a", "b"}, true},
		{[]string{"a", "b", "B"}, 2, []string{"a", "b", "B"}, false}, // a pair is never split
		{[]string{"a", "b", "b", "c"}, 2, []string{"a", "b", "b"}, true},
		{[]string{"a", "a", "b"}, 1, []string{"a", "a"}, true},
		{nil, 3, nil, false},
	}
	for _, tt := range tests {
		got, more := cutPolicies(mk(tt.in...), tt.n)
		var names []string
		for _, p := range got {
			names = append(names, p.PolicyName)
		}
		if !reflect.DeepEqual(names, tt.want) || more != tt.more {
			t.Errorf("cutPolicies(%q, %d) = %q, %v; want %q, %v", tt.in, tt.n, names, more, tt.want, tt.more)
		}
	}
}

func TestRename(t *testing.T) {
	tests := []struct{ arn, typ, path, name, want string }{
		{"arn:aws:iam::123456789012:user/old", "user", "/", "new", "arn:aws:iam::123456789012:user/new"},
		{"arn:aws:iam::123456789012:user/a/b/old", "user", "/c/", "old", "arn:aws:iam::123456789012:user/c/old"},
		{"arn:aws-cn:iam::123456789012:group/g", "group", "/", "h", "arn:aws-cn:iam::123456789012:group/h"},
		{"garbage", "user", "/", "x", "arn:aws:iam::123456789012:user/x"},
	}
	for _, tt := range tests {
		if got := rename(tt.arn, "123456789012", tt.typ, tt.path, tt.name); got != tt.want {
			t.Errorf("rename(%q, %s, %s) = %q, want %q", tt.arn, tt.path, tt.name, got, tt.want)
		}
	}
}

func TestPageArgs(t *testing.T) {
	tests := []struct {
		p                 store.Page
		n, plen           int
		marker, wantPrefx string
	}{
		{store.Page{}, 100, 0, "", ""},
		{store.Page{MaxItems: -5}, 100, 0, "", ""},
		{store.Page{MaxItems: 5000, Marker: "BoB", PathPrefix: "/é/"}, 1000, 3, "bob", "/é/"},
	}
	for _, tt := range tests {
		n, marker, plen, prefix := pageArgs(tt.p)
		if n != tt.n || marker != tt.marker || plen != tt.plen || prefix != tt.wantPrefx {
			t.Errorf("pageArgs(%+v) = %d %q %d %q", tt.p, n, marker, plen, prefix)
		}
	}
}
