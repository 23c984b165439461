package secrets

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/store"
)

// FuzzDecodeInputs feeds arbitrary bodies to every action's decoding and
// validation (the server's Bind): no panic, and any refusal is a client
// error.
func FuzzDecodeInputs(f *testing.F) {
	seeds := []string{
		`{"Name":"a","SecretString":"v","Tags":[{"Key":"k","Value":"v"}]}`,
		`{"SecretId":"arn:aws:secretsmanager:us-east-1:111122223333:secret:a-AbCdEf","VersionStage":"AWSCURRENT"}`,
		`{"SecretIdList":["a","b"],"Filters":[{"Key":"name","Values":["!x"]}]}`,
		`{"Filters":[{"Key":"all","Values":["credsDatabase#892"]}],"MaxResults":3,"NextToken":"AAAAAAAAAAM"}`,
		`{"SecretId":"a","VersionStage":"x","MoveToVersionId":"` + strings.Repeat("a", 32) + `"}`,
		`{"SecretId":"a","RecoveryWindowInDays":7,"ForceDeleteWithoutRecovery":true}`,
		`{"PasswordLength":5,"ExcludeCharacters":"abc","RequireEachIncludedType":true}`,
		`{"SecretId":"a","ResourcePolicy":"{}","BlockPublicPolicy":true}`,
		`{"SecretBinary":"AAEC","Name":"b"}`, `[]`, `null`, `{"Name":5}`,
	}
	h := newHarness(f)
	for _, s := range seeds {
		f.Add(s)
	}
	svc := h.s.API()
	f.Fuzz(func(t *testing.T, body string) {
		for i := range svc.Actions {
			a := &svc.Actions[i]
			c := &api.Call{Service: svc, Action: a, Principal: root, Region: testRegion, Body: []byte(body)}
			op, err := a.Bind(c)
			if err != nil {
				if e, ok := err.(interface{ Error() string }); ok && strings.HasPrefix(e.Error(), "InternalFailure") {
					t.Fatalf("%s: internal error on input: %v", a.Name, err)
				}
				continue
			}
			if len(op.Resources) == 0 {
				t.Fatalf("%s: no resource", a.Name)
			}
		}
	})
}

// FuzzFilters checks ListSecrets' filter matching and word splitting on
// arbitrary values: no panic, and a value and its negation never both
// match.
func FuzzFilters(f *testing.F) {
	f.Add("name", "prod/db", "prod/db/main", "Main database", "team", "db")
	f.Add("all", "credsDatabase#892", "creds", "Database 892", "k", "v")
	f.Add("description", "My Description", "x", "Description of my secret", "", "")
	f.Fuzz(func(t *testing.T, key, value, name, desc, tk, tv string) {
		sec := &store.Secret{Name: name, Description: desc, Tags: []store.Tag{{Key: tk, Value: tv}}}
		_ = words(value)
		if checkFilters([]filter{{Key: key, Values: []string{value}}}) != nil || strings.HasPrefix(value, "!") {
			return
		}
		pos := matchFilters(sec, []filter{{Key: key, Values: []string{value}}})
		neg := matchFilters(sec, []filter{{Key: key, Values: []string{"!" + value}}})
		if pos == neg && value != "" {
			b, _ := json.Marshal([]string{key, value, name, desc, tk, tv})
			t.Fatalf("filter and its negation agree (%v) on %s", pos, b)
		}
	})
}

// FuzzRandomPassword checks any accepted options give a password of the
// requested length from the allowed characters.
func FuzzRandomPassword(f *testing.F) {
	f.Add(int64(32), "", false, false, false, false, false, true)
	f.Add(int64(4), "abc", true, false, false, false, true, true)
	f.Fuzz(func(t *testing.T, n int64, exclude string, noNum, noPunct, noUpper, noLower, space, each bool) {
		if n > 512 {
			n %= 512
		}
		in := &randomPasswordInput{PasswordLength: &n, ExcludeCharacters: exclude, ExcludeNumbers: noNum,
			ExcludePunctuation: noPunct, ExcludeUppercase: noUpper, ExcludeLowercase: noLower, IncludeSpace: space,
			RequireEachIncludedType: &each}
		if in.Validate() != nil {
			return
		}
		p, err := randomPassword(in)
		if err != nil {
			return
		}
		if int64(len(p)) != n || strings.ContainsAny(p, exclude) {
			t.Fatalf("password %q for %+v", p, in)
		}
	})
}
