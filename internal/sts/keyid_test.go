package sts

import (
	"strings"
	"testing"
)

func TestTemporaryKeyIDEncodesAccount(t *testing.T) {
	for _, acct := range []string{"000000000000", "111122223333", "123456789012", "999999999999"} {
		id, err := temporaryKeyID(acct)
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != 20 || !strings.HasPrefix(id, "ASIA") || strings.ToUpper(id) != id {
			t.Fatalf("bad key id %q", id)
		}
		got, ok := accountOfTemporaryKey(id)
		if !ok || got != acct {
			t.Fatalf("%s -> %s -> %s %v", acct, id, got, ok)
		}
	}
	a, _ := temporaryKeyID("111122223333")
	b, _ := temporaryKeyID("111122223333")
	if a == b {
		t.Fatal("key ids repeat")
	}
	for _, bad := range []string{"AKIAIOSFODNN7EXAMPLE", "ASIA", "ASIA!!!!!!!!!!!!!!!!", "ASIA7777777777777777"} {
		if _, ok := accountOfTemporaryKey(bad); ok {
			t.Errorf("%s decoded", bad)
		}
	}
}
