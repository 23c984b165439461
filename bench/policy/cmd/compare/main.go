// Command compare checks that Bulwark, OPA and cedar-go agree on the
// generated request mix, then benchmarks the three in one process and prints
// ns/op, allocs/op and each engine's ratio to Bulwark.
//
//	go run ./cmd/compare [-n 1000] [-check 5000] [-benchtime 2s]
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	policybench "github.com/bulwark-security/bulwark/bench/policy"
	"github.com/bulwark-security/bulwark/internal/policy"
)

func main() {
	testing.Init()
	n := flag.Int("n", 1000, "requests in the benchmarked mix")
	check := flag.Int("check", 5000, "requests on which the engines must agree")
	benchtime := flag.Duration("benchtime", 2*time.Second, "time per benchmark")
	flag.Parse()
	if err := flag.Set("test.benchtime", benchtime.String()); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(2)
	}
	if err := run(*n, *check); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func run(n, check int) error {
	eq, err := policybench.NewFixture(1, check)
	if err != nil {
		return err
	}
	counts, diffs, err := eq.Compare()
	if err != nil {
		return err
	}
	fmt.Printf("equality: %d requests (%d allowed, %d explicitly denied, %d implicitly denied), %d disagreements\n",
		check, counts[policy.Allow], counts[policy.ExplicitDeny], counts[policy.ImplicitDeny], len(diffs))
	for _, d := range diffs {
		fmt.Println("  ", d)
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%d disagreements", len(diffs))
	}

	f, err := policybench.NewFixture(2, n)
	if err != nil {
		return err
	}
	engines := []struct {
		name string
		run  func(*testing.B, *policybench.Fixture)
	}{
		{"Bulwark", policybench.BenchBulwark},
		{"Bulwark (context prefilled)", policybench.BenchBulwarkPrepared},
		{"OPA (Rego, prepared query)", policybench.BenchOPA},
		{"cedar-go", policybench.BenchCedar},
	}
	fmt.Printf("benchmark: %d requests round-robin, 10 roles x 10-11 policies, GOMAXPROCS=%d, %s\n\n",
		n, runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Printf("| %-28s | %10s | %9s | %9s | %15s |\n", "engine", "ns/op", "B/op", "allocs/op", "× Bulwark ns/op")
	fmt.Printf("|%s|%s|%s|%s|%s|\n", dashes(30), dashes(12), dashes(11), dashes(11), dashes(17))
	var base float64
	for i, e := range engines {
		r := testing.Benchmark(func(b *testing.B) { e.run(b, f) })
		if r.N == 0 {
			return fmt.Errorf("benchmark %s failed", e.name)
		}
		ns := float64(r.T.Nanoseconds()) / float64(r.N)
		if i == 0 {
			base = ns
		}
		fmt.Printf("| %-28s | %10.0f | %9d | %9d | %15s |\n", e.name, ns, r.AllocedBytesPerOp(), r.AllocsPerOp(), fmt.Sprintf("%.1f", ns/base))
	}
	return nil
}

func dashes(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '-'
	}
	return string(b)
}
