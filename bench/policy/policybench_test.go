package policybench

import (
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
