package detect

import (
	"testing"
	"time"
)

func TestParseThresholds(t *testing.T) {
	got, err := ParseThresholds(" signature_failures=5, signature_window=1m ,secret_reads=7")
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults
	want.SignatureFailures, want.SignatureWindow, want.SecretReads = 5, time.Minute, 7
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if d, err := ParseThresholds(""); err != nil || d != Defaults {
		t.Fatalf("empty = %+v, %v", d, err)
	}
	for _, bad := range []string{"nope=1", "signature_failures", "signature_failures=0", "signature_failures=x",
		"signature_window=5", "signature_window=1ms", "signature_window=9999h", "access_denied=1000001", ",", "subjects=-1"} {
		if _, err := ParseThresholds(bad); err == nil {
			t.Errorf("ParseThresholds(%q) succeeded", bad)
		}
	}
}

func FuzzParseThresholds(f *testing.F) {
	f.Add("signature_failures=5,signature_window=1m")
	f.Add("subjects=10000,new_ip_per_key=3")
	f.Fuzz(func(t *testing.T, s string) {
		th, err := ParseThresholds(s)
		if err != nil {
			return
		}
		if th.SignatureFailures < 1 || th.SignatureWindow < time.Second || th.Subjects < 1 || th.NewIPPerKey < 1 {
			t.Fatalf("accepted thresholds out of range: %+v", th)
		}
	})
}
