package policybench

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/bulwark-security/bulwark/internal/policy"
)

// equalityRequests is how many generated requests the engines must agree on.
const equalityRequests = 5000

// TestEnginesAgree checks that Bulwark, OPA and cedar-go reach the same
// decision (allow, explicit deny, implicit deny) on every generated request,
// and that the mix exercises all three outcomes.
func TestEnginesAgree(t *testing.T) {
	f, err := NewFixture(1, equalityRequests)
	if err != nil {
		t.Fatal(err)
	}
	counts, diffs, err := f.Compare()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		t.Errorf("disagreement: %v", d)
	}
	t.Logf("%d requests: %d allowed, %d explicitly denied, %d implicitly denied, %d disagreements",
		len(f.Requests), counts[policy.Allow], counts[policy.ExplicitDeny], counts[policy.ImplicitDeny], len(diffs))
	for _, e := range []policy.Effect{policy.Allow, policy.ExplicitDeny, policy.ImplicitDeny} {
		if counts[e] < len(f.Requests)/20 {
			t.Errorf("only %d requests decided %v: the mix is too thin", counts[e], e)
		}
	}
	// Agreement only means something if every statement of the set
	// decides some requests: count the deciding statements by Sid.
	decided := map[string]int{}
	var pc policy.Context
	for i := range f.Requests {
		q := &f.Requests[i]
		f.Bulwark.Decide(&pc, q)
		req := f.Bulwark.request(&pc, q)
		d := policy.Evaluate(f.Bulwark.sets[q.Role], &req)
		for _, st := range d.Statements() {
			decided[st.Sid()]++
		}
	}
	for _, sid := range []string{"ReadOwnSecrets", "OwnKey", "OwnBucket", "OwnQueues", "OwnTables", "OwnLogs",
		"SharedSecrets", "OwnParameters", "NoProdSecretDelete", "TLSOnly", "ManageOwnSecrets", "BroadRead"} {
		if decided[sid] == 0 {
			t.Errorf("statement %s decided no request: the generator does not exercise it", sid)
		}
	}
	t.Logf("deciding statements: %v", decided)
}

// TestEnginesAgreeDetectsChange makes sure the equality test has teeth: a
// Rego set that moves the shared-secrets expiry by a year must disagree.
func TestEnginesAgreeDetectsChange(t *testing.T) {
	f, err := NewFixture(1, equalityRequests)
	if err != nil {
		t.Fatal(err)
	}
	mutated := strings.Replace(RegoSource(), `time.parse_rfc3339_ns("2030-01-01T00:00:00Z")`, `time.parse_rfc3339_ns("2031-01-01T00:00:00Z")`, -1)
	if f.OPA, err = newOPASource(context.Background(), mutated); err != nil {
		t.Fatal(err)
	}
	for i := range f.Requests {
		if f.opaIn[i], err = f.OPA.Input(&f.Requests[i]); err != nil {
			t.Fatal(err)
		}
	}
	_, diffs, err := f.Compare()
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) == 0 {
		t.Fatal("a changed expiry went unnoticed")
	}
	t.Logf("%d disagreements after the change, e.g. %v", len(diffs), diffs[0])
}

// TestBulwarkAllocs holds Bulwark's decision, context filling included, to
// zero allocations.
func TestBulwarkAllocs(t *testing.T) {
	f := benchFixture(t)
	var pc policy.Context
	i := 0
	n := testing.AllocsPerRun(2000, func() {
		f.Bulwark.Decide(&pc, &f.Requests[i%len(f.Requests)])
		i++
	})
	if n != 0 {
		t.Fatalf("Bulwark allocates %v times per decision", n)
	}
}

// benchRequests is the size of the request mix the benchmarks cycle through.
const benchRequests = 1000

var (
	fixtureOnce sync.Once
	fixture     *Fixture
	fixtureErr  error
)

func benchFixture(tb testing.TB) *Fixture {
	fixtureOnce.Do(func() { fixture, fixtureErr = NewFixture(2, benchRequests) })
	if fixtureErr != nil {
		tb.Fatal(fixtureErr)
	}
	return fixture
}

func BenchmarkBulwark(b *testing.B)         { BenchBulwark(b, benchFixture(b)) }
func BenchmarkBulwarkPrepared(b *testing.B) { BenchBulwarkPrepared(b, benchFixture(b)) }
func BenchmarkOPA(b *testing.B)             { BenchOPA(b, benchFixture(b)) }
func BenchmarkCedar(b *testing.B)           { BenchCedar(b, benchFixture(b)) }

// FuzzEnginesAgree draws request mixes from fuzzed seeds: the three engines
// must still agree on every request.
func FuzzEnginesAgree(f *testing.F) {
	for _, s := range []uint64{0, 1, 2, 42, 1 << 40} {
		f.Add(s)
	}
	fx := benchFixture(f)
	f.Fuzz(func(t *testing.T, seed uint64) {
		g, err := newFixtureWith(fx, seed, 20)
		if err != nil {
			t.Fatal(err)
		}
		_, diffs, err := g.Compare()
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range diffs {
			t.Errorf("disagreement: %v", d)
		}
	})
}
