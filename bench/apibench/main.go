// Command apibench measures a running Bulwark server with real clients: it
// runs N concurrent workers for a fixed time against the unauthenticated
// /healthz endpoint (the baseline: HTTP and the loopback network alone) and
// against signed API calls made with aws-sdk-go-v2, and prints requests per
// second, latency percentiles and each call's ratio to the baseline measured
// in the same run: GetCallerIdentity (authentication only), an IAM read by
// an IAM user (policy evaluation) and AssumeRole (trust and identity
// policies, a sealed session token) and Secrets Manager's GetSecretValue by
// an IAM user (identity policy, the secret's resource policy, kms:Decrypt
// of the data key via Secrets Manager, AES-GCM). bench/api.sh starts a
// server and runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-security/bulwark/bench/internal/creds"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func main() {
	endpoint := flag.String("endpoint", "http://127.0.0.1:4747", "Bulwark endpoint")
	credsFile := flag.String("credentials", "bulwark-data/credentials", "shared credentials file with profile bulwark")
	workers := flag.Int("c", 8, "concurrent clients")
	dur := flag.Duration("d", 10*time.Second, "duration of each measurement")
	flag.Parse()

	akid, secret, err := creds.Read(*credsFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "apibench:", err)
		os.Exit(1)
	}
	transport := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}
	hc := &http.Client{Transport: transport}
	client := sts.New(sts.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(*endpoint), HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, ""), RetryMaxAttempts: 1,
	})

	user, role, err := setup(context.Background(), *endpoint, hc, akid, secret)
	if err != nil {
		fmt.Fprintln(os.Stderr, "apibench: setup:", err)
		os.Exit(1)
	}
	userIAM := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(*endpoint), HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider(user.akid, user.secret, ""), RetryMaxAttempts: 1})
	userSM := secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(*endpoint), HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider(user.akid, user.secret, ""), RetryMaxAttempts: 1})
	userSTS := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(*endpoint), HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider(user.akid, user.secret, ""), RetryMaxAttempts: 1})

	targets := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"GET /healthz (baseline)", func(ctx context.Context) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, *endpoint+"/healthz", nil)
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		}},
		{"sts:GetCallerIdentity (signed, aws-sdk-go-v2)", func(ctx context.Context) error {
			_, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		}},
		{"secretsmanager:GetSecretValue by an IAM user", func(ctx context.Context) error {
			_, err := userSM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("apibench-secret")})
			return err
		}},
		{"iam:GetUser by an IAM user (policy-authorised)", func(ctx context.Context) error {
			_, err := userIAM.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("apibench")})
			return err
		}},
		{"sts:AssumeRole by an IAM user (trust + identity)", func(ctx context.Context) error {
			_, err := userSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("bench")})
			return err
		}},
	}
	if name, call, err := kmsDecryptTarget(context.Background(), *endpoint, hc, akid, secret); err != nil {
		fmt.Fprintln(os.Stderr, "apibench: kms setup:", err)
		os.Exit(1)
	} else {
		targets = append(targets, struct {
			name string
			call func(ctx context.Context) error
		}{name, call})
	}
	fmt.Printf("apibench: %d clients, %s per target, GOMAXPROCS-limited machine; figures are relative to the baseline\n\n", *workers, *dur)
	fmt.Printf("%-48s %10s %9s %9s %9s %7s\n", "target", "req/s", "p50", "p99", "errors", "ratio")
	var base float64
	for i, tg := range targets {
		run(tg.call, *workers, time.Second) // warm up connections and caches
		r := run(tg.call, *workers, *dur)
		if i == 0 {
			base = r.rps
		}
		fmt.Printf("%-48s %10.0f %9s %9s %9d %6.2fx\n", tg.name, r.rps, r.p50, r.p99, r.errors, r.rps/base)
		if r.firstErr != nil {
			fmt.Printf("  first error: %v\n", r.firstErr)
		}
	}
}

type result struct {
	rps      float64
	p50, p99 time.Duration
	errors   int64
	firstErr error
}

func run(call func(context.Context) error, workers int, d time.Duration) result {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		lat      []time.Duration
		errs     atomic.Int64
		firstErr error
	)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<16)
			for ctx.Err() == nil {
				t0 := time.Now()
				err := call(ctx)
				if ctx.Err() != nil {
					break
				}
				if err != nil {
					if errs.Add(1) == 1 {
						mu.Lock()
						firstErr = err
						mu.Unlock()
					}
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r := result{errors: errs.Load(), firstErr: firstErr, rps: float64(len(lat)) / elapsed.Seconds()}
	if len(lat) > 0 {
		r.p50 = lat[len(lat)/2].Round(time.Microsecond)
		r.p99 = lat[len(lat)*99/100].Round(time.Microsecond)
	}
	return r
}

type keyPair struct{ akid, secret string }

// setup creates, as root, a user "apibench" allowed iam:GetUser,
// sts:AssumeRole and secretsmanager:GetSecretValue, with an access key, a
// role it may assume and a secret "apibench-secret" (under the AWS managed
// key, whose policy lets account principals use it via Secrets Manager).
func setup(ctx context.Context, endpoint string, hc *http.Client, akid, secret string) (keyPair, string, error) {
	root := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, ""), RetryMaxAttempts: 1})
	id, err := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, "")}).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return keyPair{}, "", err
	}
	acct := aws.ToString(id.Account)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"sts:AssumeRole"}]}`
	if _, err := root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("apibench-role"), AssumeRolePolicyDocument: &trust}); err != nil {
		return keyPair{}, "", err
	}
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("apibench")}); err != nil {
		return keyPair{}, "", err
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GetUser","sts:AssumeRole","secretsmanager:GetSecretValue"],"Resource":"*"}]}`
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("apibench"), PolicyName: aws.String("bench"), PolicyDocument: &doc}); err != nil {
		return keyPair{}, "", err
	}
	rootSM := secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, ""), RetryMaxAttempts: 1})
	if _, err := rootSM.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("apibench-secret"),
		SecretString: aws.String(`{"username":"bench","password":"not-a-real-password"}`)}); err != nil {
		return keyPair{}, "", err
	}
	k, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("apibench")})
	if err != nil {
		return keyPair{}, "", err
	}
	return keyPair{aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey)},
		"arn:aws:iam::" + acct + ":role/apibench-role", nil
}
