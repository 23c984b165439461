package postgres

import (
	"errors"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/storetest"
)

// TestIAMConformance runs the IAM suite, each subtest in a fresh schema;
// it skips only when PostgreSQL is not running and CI is unset.
func TestIAMConformance(t *testing.T) {
	storetest.RunIAM(t, func(t *testing.T) storetest.IAMStore { return openFresh(t) })
}

// TestIAMTwoServers opens one schema twice, as two servers sharing the
// database.
func TestIAMTwoServers(t *testing.T) {
	schema := freshSchema(t)
	storetest.RunIAMServers(t, openSchema(t, schema), openSchema(t, schema))
}

func TestRebind(t *testing.T) {
	tests := []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`a = ? AND b IN (?, ?) LIMIT ?`, `a = $1 AND b IN ($2, $3) LIMIT $4`},
		{`é ?`, `é $1`},
	}
	for _, tt := range tests {
		for range 2 { // the second time from the cache
			if got := rebind(tt.in); got != tt.want {
				t.Errorf("rebind(%q) = %q, want %q", tt.in, got, tt.want)
			}
		}
	}
}

// TestIAMUnstorableText: text PostgreSQL cannot hold finds nothing on
// reads and is refused on writes, never a driver error on a lookup.
func TestIAMUnstorableText(t *testing.T) {
	s := openFresh(t)
	ctx := t.Context()
	if err := s.CreateAccount(ctx, store.Account{ID: "123456789012", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"a\x00b", "\xff"} {
		if _, err := s.GetUser(ctx, "123456789012", bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetUser(%q) = %v, want ErrNotFound", bad, err)
		}
		if err := s.DeleteRole(ctx, "123456789012", bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteRole(%q) = %v, want ErrNotFound", bad, err)
		}
		users, _, err := s.ListUsers(ctx, "123456789012", store.Page{Marker: bad})
		if err != nil || len(users) != 0 {
			t.Errorf("ListUsers(marker %q) = %v, %v", bad, users, err)
		}
		err = s.CreateUser(ctx, store.User{AccountID: "123456789012", UserName: bad, UserID: "AIDA" + bad, Path: "/", CreatedAt: time.Now()})
		if err == nil {
			t.Errorf("CreateUser(%q) succeeded", bad)
		}
	}
}
