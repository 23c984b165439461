package migrate

import (
	"errors"
	"testing"
)

func TestValidate(t *testing.T) {
	ok := []Migration{{Version: 1, Name: "a", SQL: "x"}, {Version: 2, Name: "b", SQL: "y"}}
	tests := []struct {
		name    string
		ms      []Migration
		wantErr bool
	}{
		{"ok", ok, false},
		{"empty", nil, true},
		{"starts at 2", []Migration{{Version: 2, Name: "a", SQL: "x"}}, true},
		{"gap", []Migration{{Version: 1, Name: "a", SQL: "x"}, {Version: 3, Name: "b", SQL: "y"}}, true},
		{"no name", []Migration{{Version: 1, Name: "", SQL: "x"}}, true},
		{"no sql", []Migration{{Version: 1, Name: "a", SQL: ""}}, true},
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
	ms := []Migration{{Version: 1, Name: "a", SQL: "x"}, {Version: 2, Name: "b", SQL: "y"}}
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

func TestInsertKeepsOrder(t *testing.T) {
	var ms []Migration
	for _, v := range []int{3, 1, 4, 2} {
		ms = Insert(ms, Migration{Version: v, Name: "m", SQL: "x"})
	}
	if err := Validate(ms); err != nil {
		t.Fatal(err)
	}
}
