package policybench

import (
	"context"
	"fmt"
	"testing"

	"github.com/cedar-policy/cedar-go"
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/bulwark-security/bulwark/internal/policy"
)

// Fixture is the three engines and one request mix, each request already
// converted to every engine's input.
type Fixture struct {
	Requests []Request
	Bulwark  *Bulwark
	OPA      *OPA
	Cedar    *Cedar
	opaIn    []ast.Value
	cedarIn  []cedar.Request
	bulIn    []policy.Request
}

// NewFixture builds the engines and n requests from seed.
func NewFixture(seed uint64, n int) (*Fixture, error) {
	f := &Fixture{}
	var err error
	if f.Bulwark, err = NewBulwark(); err != nil {
		return nil, err
	}
	if f.OPA, err = NewOPA(context.Background()); err != nil {
		return nil, err
	}
	if f.Cedar, err = NewCedar(); err != nil {
		return nil, err
	}
	return newFixtureWith(f, seed, n)
}

// newFixtureWith draws n requests from seed for the engines of base. The
// Cedar entity map is shared and grows with new resources, so fixtures
// sharing engines must not be used concurrently.
func newFixtureWith(base *Fixture, seed uint64, n int) (*Fixture, error) {
	f := &Fixture{Requests: Generate(seed, n), Bulwark: base.Bulwark, OPA: base.OPA, Cedar: base.Cedar}
	for i := range f.Requests {
		q := &f.Requests[i]
		in, err := f.OPA.Input(q)
		if err != nil {
			return nil, fmt.Errorf("request %d: %w", i, err)
		}
		f.opaIn = append(f.opaIn, in)
		cr, err := f.Cedar.Request(q)
		if err != nil {
			return nil, fmt.Errorf("request %d: %w", i, err)
		}
		f.cedarIn = append(f.cedarIn, cr)
		pc := &policy.Context{}
		f.Bulwark.Decide(pc, q) // fills pc
		f.bulIn = append(f.bulIn, f.Bulwark.request(pc, q))
	}
	return f, nil
}

// Disagreement is one request on which the engines differ.
type Disagreement struct {
	Index               int
	Request             Request
	Bulwark, OPA, Cedar Decision
}

func (d Disagreement) String() string {
	return fmt.Sprintf("#%d %+v: bulwark=%v opa=%v cedar=%v", d.Index, d.Request, d.Bulwark, d.OPA, d.Cedar)
}

// Compare decides every request with the three engines and returns the
// count of each outcome (by Bulwark) and every disagreement.
func (f *Fixture) Compare() (counts map[Decision]int, diffs []Disagreement, err error) {
	counts = map[Decision]int{}
	var pc policy.Context
	ctx := context.Background()
	for i := range f.Requests {
		q := &f.Requests[i]
		b := f.Bulwark.Decide(&pc, q)
		o, err := f.OPA.Decide(ctx, f.opaIn[i])
		if err != nil {
			return nil, nil, fmt.Errorf("request %d: %w", i, err)
		}
		c, err := f.Cedar.Decide(f.cedarIn[i])
		if err != nil {
			return nil, nil, fmt.Errorf("request %d: %w", i, err)
		}
		counts[b]++
		if b != o || b != c {
			diffs = append(diffs, Disagreement{Index: i, Request: *q, Bulwark: b, OPA: o, Cedar: c})
		}
	}
	return counts, diffs, nil
}

// BenchBulwark decides the request mix round-robin, one decision per
// iteration, reusing one policy.Context as a server goroutine would.
func BenchBulwark(b *testing.B, f *Fixture) {
	var pc policy.Context
	n, allowed := len(f.Requests), 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if f.Bulwark.Decide(&pc, &f.Requests[i%n]) == policy.Allow {
			allowed++
		}
	}
	sink = allowed
}

// BenchBulwarkPrepared decides requests whose policy.Context was filled
// beforehand, as the OPA and Cedar benchmarks do with their inputs: the
// evaluation alone.
func BenchBulwarkPrepared(b *testing.B, f *Fixture) {
	n, allowed := len(f.Requests), 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		j := i % n
		if policy.Evaluate(f.Bulwark.sets[f.Requests[j].Role], &f.bulIn[j]).Effect == policy.Allow {
			allowed++
		}
	}
	sink = allowed
}

// BenchOPA does the same with OPA's prepared query and prepared inputs.
func BenchOPA(b *testing.B, f *Fixture) {
	ctx := context.Background()
	n, allowed := len(f.Requests), 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		d, err := f.OPA.Decide(ctx, f.opaIn[i%n])
		if err != nil {
			b.Fatal(err)
		}
		if d == policy.Allow {
			allowed++
		}
	}
	sink = allowed
}

// BenchCedar does the same with cedar-go and prepared requests.
func BenchCedar(b *testing.B, f *Fixture) {
	n, allowed := len(f.Requests), 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		d, err := f.Cedar.Decide(f.cedarIn[i%n])
		if err != nil {
			b.Fatal(err)
		}
		if d == policy.Allow {
			allowed++
		}
	}
	sink = allowed
}

var sink int
