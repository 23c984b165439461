// Command devreset measures dev mode's state reset with resources present:
// against a running `bulwark server --dev` it creates N IAM users (each with
// an inline policy and an access key: 3N rows) through the API, then times
// POST /_bulwark/reset, as reported by the server and as seen by the
// client, over several rounds. bench/devreset.sh starts the server.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/bulwark-security/bulwark/internal/sigv4"
)

func main() {
	endpoint := flag.String("endpoint", "http://127.0.0.1:4747", "dev server endpoint")
	n := flag.Int("n", 1000, "resources (users) to create before each reset")
	rounds := flag.Int("rounds", 5, "measured rounds")
	flag.Parse()
	ctx := context.Background()
	client := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(*endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), RetryMaxAttempts: 1})
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}`

	var server, client2 []time.Duration
	for r := range *rounds {
		var wg sync.WaitGroup
		errs := make(chan error, *n)
		sem := make(chan struct{}, 8)
		for i := range *n {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				name := "user-" + strconv.Itoa(i)
				if _, err := client.CreateUser(ctx, &iam.CreateUserInput{UserName: &name}); err != nil {
					errs <- err
					return
				}
				if _, err := client.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: &name, PolicyName: aws.String("p"), PolicyDocument: &doc}); err != nil {
					errs <- err
					return
				}
				if _, err := client.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: &name}); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			fmt.Fprintln(os.Stderr, "devreset: create:", err)
			os.Exit(1)
		}
		srv, rt, err := reset(*endpoint)
		if err != nil {
			fmt.Fprintln(os.Stderr, "devreset:", err)
			os.Exit(1)
		}
		out, err := client.ListUsers(ctx, &iam.ListUsersInput{})
		if err != nil || len(out.Users) != 0 {
			fmt.Fprintf(os.Stderr, "devreset: users left after reset: %v %v\n", err, out)
			os.Exit(1)
		}
		fmt.Printf("round %d: %d users + %d inline policies + %d access keys; reset %v in the server, %v round trip\n", r+1, *n, *n, *n, srv, rt)
		server, client2 = append(server, srv), append(client2, rt)
	}
	fmt.Printf("\nreset with %d resources (median of %d): %v in the server, %v round trip (target < 50ms)\n",
		3**n, *rounds, median(server), median(client2))
}

func reset(endpoint string) (srv, rt time.Duration, err error) {
	req, _ := http.NewRequest(http.MethodPost, endpoint+"/_bulwark/reset", bytes.NewReader(nil))
	if err := sigv4.Sign(req, nil, "test", []byte("test"), "", "us-east-1", "bulwark", time.Now()); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	rt = time.Since(start)
	var out struct{ DurationMs float64 }
	if resp.StatusCode != 200 || json.Unmarshal(body, &out) != nil {
		return 0, 0, fmt.Errorf("reset: %s %s", resp.Status, body)
	}
	return time.Duration(out.DurationMs * float64(time.Millisecond)), rt, nil
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2].Round(10 * time.Microsecond)
}
