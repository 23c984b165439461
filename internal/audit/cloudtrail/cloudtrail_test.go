package cloudtrail

import (
	"errors"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/store"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name, body, code string
	}{
		{"empty", `{}`, ""},
		{"one attribute", `{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"GetUser"}]}`, ""},
		{"two attributes", `{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"a"},{"AttributeKey":"Username","AttributeValue":"b"}]}`, "InvalidLookupAttributesException"},
		{"unknown key", `{"LookupAttributes":[{"AttributeKey":"Color","AttributeValue":"a"}]}`, "InvalidLookupAttributesException"},
		{"empty value", `{"LookupAttributes":[{"AttributeKey":"Username","AttributeValue":""}]}`, "InvalidLookupAttributesException"},
		{"max results 0", `{"MaxResults":0}`, "InvalidMaxResultsException"},
		{"max results 51", `{"MaxResults":51}`, "InvalidMaxResultsException"},
		{"max results 50", `{"MaxResults":50}`, ""},
		{"reversed range", `{"StartTime":1700000100,"EndTime":1700000000}`, "InvalidTimeRangeException"},
		{"fractional times", `{"StartTime":1700000000.5,"EndTime":1700000001.25}`, ""},
		{"insight", `{"EventCategory":"insight"}`, "InvalidEventCategoryException"},
		{"bad category", `{"EventCategory":"x"}`, "InvalidEventCategoryException"},
		{"long token", `{"NextToken":"` + repeat("a", 600) + `"}`, "InvalidNextTokenException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var in lookupInput
			if err := awsproto.DecodeJSON([]byte(tc.body), &in); err != nil {
				t.Fatal(err)
			}
			err := in.Validate()
			var ae *awsproto.Error
			switch {
			case tc.code == "" && err != nil:
				t.Fatalf("Validate = %v", err)
			case tc.code != "" && (!errors.As(err, &ae) || ae.Code != tc.code || ae.Status != 400):
				t.Fatalf("Validate = %v, want %s", err, tc.code)
			}
		})
	}
	for _, bad := range []string{`{"StartTime":-1}`, `{"StartTime":"yesterday"}`, `{"StartTime":1e300}`} {
		var in lookupInput
		if err := awsproto.DecodeJSON([]byte(bad), &in); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
}

func repeat(s string, n int) string {
	b := make([]byte, 0, n)
	for len(b) < n {
		b = append(b, s...)
	}
	return string(b)
}

func TestNextToken(t *testing.T) {
	r := store.AuditRecord{EventTime: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), ChainID: "20260102T030405Z-0011223344556677", Seq: 42}
	c, err := decodeToken(encodeToken(r))
	if err != nil || !c.EventTime.Equal(r.EventTime) || c.ChainID != r.ChainID || c.Seq != 42 {
		t.Fatalf("round trip = %+v, %v", c, err)
	}
	for _, bad := range []string{"", "!!", "djJ8MXxhfDE", "djF8eHxhfDE", "djF8MXxhIGJ8MQ", "djF8MXxhfDA"} {
		if _, err := decodeToken(bad); err == nil {
			t.Errorf("decodeToken(%q) accepted", bad)
		}
	}
}

func FuzzDecodeToken(f *testing.F) {
	f.Add(encodeToken(store.AuditRecord{EventTime: time.Unix(1, 0), ChainID: "c", Seq: 1}))
	f.Add("djF8MXxhfDE")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := decodeToken(tok)
		if err != nil {
			return
		}
		again, err := decodeToken(encodeToken(store.AuditRecord{EventTime: c.EventTime, ChainID: c.ChainID, Seq: c.Seq}))
		if err != nil || *again != *c {
			t.Fatalf("%q: %+v then %+v, %v", tok, c, again, err)
		}
	})
}

func TestServiceTable(t *testing.T) {
	s := Service(nil, nil)
	if _, err := api.NewRegistry(s); err != nil {
		t.Fatal(err)
	}
	a := s.Action("LookupEvents")
	if a == nil || a.IAMAction != "cloudtrail:LookupEvents" || !a.Access.ReadOnly() {
		t.Fatalf("LookupEvents row = %+v", a)
	}
	// The record of a lookup never copies the events it returned.
	if len(a.AuditHidden) == 0 || a.AuditHidden[0] != "Events" {
		t.Fatalf("AuditHidden = %v", a.AuditHidden)
	}
}
