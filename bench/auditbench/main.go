// Command auditbench measures what the audit trail costs: signed
// GetCallerIdentity calls per second (aws-sdk-go-v2, N concurrent clients)
// against a server writing the durable, hash-chained trail and against one
// started with the benchmark-only no-op sink, alternating between them for
// several rounds so both see the same machine. bench/audit.sh starts the two
// servers and runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-security/bulwark/bench/internal/creds"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func main() {
	trail := flag.String("trail", "", "endpoint of the server with the audit trail")
	trailCreds := flag.String("trail-credentials", "", "its shared credentials file")
	noop := flag.String("noop", "", "endpoint of the server with the no-op audit sink")
	noopCreds := flag.String("noop-credentials", "", "its shared credentials file")
	workers := flag.Int("c", 8, "concurrent clients")
	dur := flag.Duration("d", 5*time.Second, "duration of each measurement")
	rounds := flag.Int("rounds", 3, "alternating rounds")
	flag.Parse()

	mk := func(endpoint, file string) *sts.Client {
		akid, secret, err := creds.Read(file)
		if err != nil {
			fmt.Fprintln(os.Stderr, "auditbench:", err)
			os.Exit(1)
		}
		hc := &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}}
		return sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), HTTPClient: hc,
			Credentials: credentials.NewStaticCredentialsProvider(akid, secret, ""), RetryMaxAttempts: 1})
	}
	clients := []struct {
		name  string
		c     *sts.Client
		rps   []float64
		p99   []time.Duration
		total float64
	}{{name: "no-op audit sink (baseline)", c: mk(*noop, *noopCreds)}, {name: "audit trail (durable, chained)", c: mk(*trail, *trailCreds)}}
	for i := range clients {
		run(clients[i].c, *workers, time.Second) // warm up
	}
	for r := 0; r < *rounds; r++ {
		for i := range clients {
			rps, p99, errs := run(clients[i].c, *workers, *dur)
			if errs > 0 {
				fmt.Fprintf(os.Stderr, "auditbench: %s: %d errors\n", clients[i].name, errs)
			}
			clients[i].rps = append(clients[i].rps, rps)
			clients[i].total += rps * dur.Seconds()
			clients[i].p99 = append(clients[i].p99, p99)
		}
	}
	fmt.Printf("auditbench: sts:GetCallerIdentity, %d clients, %d rounds of %s each, alternating\n\n", *workers, *rounds, *dur)
	fmt.Printf("%-32s %10s %10s  %s\n", "server", "req/s", "p99", "per round")
	med := func(v []float64) float64 {
		s := append([]float64(nil), v...)
		sort.Float64s(s)
		return s[len(s)/2]
	}
	for _, c := range clients {
		var rounds []string
		for _, v := range c.rps {
			rounds = append(rounds, fmt.Sprintf("%.0f", v))
		}
		sort.Slice(c.p99, func(i, j int) bool { return c.p99[i] < c.p99[j] })
		fmt.Printf("%-32s %10.0f %10s  %s\n", c.name, med(c.rps), c.p99[len(c.p99)/2].Round(10*time.Microsecond), strings.Join(rounds, " "))
	}
	ratio := med(clients[1].rps) / med(clients[0].rps)
	fmt.Printf("\ntrail/no-op throughput ratio (medians): %.2f (the trail costs %.0f%%)\n", ratio, 100*(1-ratio))
	// For bench/audit.sh: requests each server answered in the measured
	// rounds (warm-up included approximately), to divide its CPU time by.
	fmt.Printf("requests: noop=%.0f trail=%.0f\n", clients[0].total, clients[1].total)
}

func run(c *sts.Client, workers int, d time.Duration) (rps float64, p99 time.Duration, errs int64) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		lat []time.Duration
		ne  atomic.Int64
	)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			local := make([]time.Duration, 0, 1<<14)
			for ctx.Err() == nil {
				t0 := time.Now()
				_, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
				if ctx.Err() != nil {
					break
				}
				if err != nil {
					ne.Add(1)
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	el := time.Since(start)
	if len(lat) == 0 {
		return 0, 0, ne.Load()
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return float64(len(lat)) / el.Seconds(), lat[len(lat)*99/100], ne.Load()
}
