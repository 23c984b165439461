package migrate

import (
	"errors"
	"testing"
)

func TestValidate(t *testing.T) {
	ok := []Migration{{1, "a", "x"}, {2, "b", "y"}}
	tests := []struct {
		name    string
		ms      []Migration
		wantErr bool
	}{
		{"ok", ok, false},
		{"empty", nil, true},
		{"starts at 2", []Migration{{2, "a", "x"}}, true},
		{"gap", []Migration{{1, "a", "x"}, {3, "b", "y"}}, true},
		{"no name", []Migration{{1, "", "x"}}, true},
		{"no sql", []Migration{{1, "a", ""}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Validate(tt.ms); (err != nil) != tt.wantErr {
				t.Fatalf("Validate = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestVersionRules(t *testing.T) {
	ms := []Migration{{1, "a", "x"}, {2, "b", "y"}}
	if Latest(ms) != 2 || Latest(nil) != 0 {
		t.Fatal("Latest")
	}
	if err := CheckVersion(2, ms); err != nil {
		t.Fatal(err)
	}
	if err := CheckVersion(3, ms); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("CheckVersion(3) = %v", err)
	}
	if got := Pending(0, ms); len(got) != 2 {
		t.Fatalf("Pending(0) = %v", got)
	}
	if got := Pending(1, ms); len(got) != 1 || got[0].Version != 2 {
		t.Fatalf("Pending(1) = %v", got)
	}
	if got := Pending(2, ms); got != nil {
		t.Fatalf("Pending(2) = %v", got)
	}
	if got := Pending(-1, ms); len(got) != 2 {
		t.Fatalf("Pending(-1) = %v", got)
	}
}
