// Command workloadprobe is an unmodified aws-sdk-go-v2 program: it takes
// its credentials, region and endpoint from config.LoadDefaultConfig and
// nothing else, as an application under `bulwark agent` or `bulwark exec`
// does. The e2e tests run it and read the JSON it prints.
//
//	workloadprobe once ROLE OTHER_ROLE   who am I, may I read ROLE, OTHER_ROLE, list users
//	workloadprobe loop SECONDS ROLE      call STS and IAM every 250 ms; count keys and errors
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

func code(err error) string {
	if err == nil {
		return "ok"
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "error: " + err.Error()
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "workloadprobe:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	stsc, iamc := sts.NewFromConfig(cfg), iam.NewFromConfig(cfg)
	out := json.NewEncoder(os.Stdout)
	switch {
	case len(args) == 3 && args[0] == "once":
		res := map[string]string{}
		id, err := stsc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return fmt.Errorf("GetCallerIdentity: %w", err)
		}
		res["arn"] = aws.ToString(id.Arn)
		_, err = iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(args[1])})
		res["getOwnRole"] = code(err)
		_, err = iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(args[2])})
		res["getOtherRole"] = code(err)
		_, err = iamc.ListUsers(ctx, &iam.ListUsersInput{})
		res["listUsers"] = code(err)
		return out.Encode(res)
	case len(args) == 3 && args[0] == "loop":
		secs, err := strconv.Atoi(args[1])
		if err != nil {
			return err
		}
		keys := map[string]bool{}
		var errs []string
		calls := 0
		for end := time.Now().Add(time.Duration(secs) * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
			creds, err := cfg.Credentials.Retrieve(ctx)
			if err != nil {
				errs = append(errs, "retrieve: "+err.Error())
				continue
			}
			keys[creds.AccessKeyID] = true
			if _, err := stsc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
				errs = append(errs, "GetCallerIdentity: "+code(err))
			}
			if _, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(args[2])}); err != nil {
				errs = append(errs, "GetRole: "+code(err))
			}
			calls += 2
		}
		return out.Encode(map[string]any{"calls": calls, "keys": len(keys), "errors": errs})
	}
	return errors.New("usage: workloadprobe once ROLE OTHER_ROLE | loop SECONDS ROLE")
}
