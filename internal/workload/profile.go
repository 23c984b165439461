package workload

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CallerConfig is where and as whom the CLI calls the server: the caller's
// own AWS credentials, region and endpoint, found as the AWS CLI finds
// them (a subset: static keys from the environment or a profile).
type CallerConfig struct {
	Creds    StaticCredentials
	Region   string
	Endpoint string
}

// LoadCallerConfig resolves credentials from AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else from the profile
// (profile, AWS_PROFILE or "default") of the shared credentials and config
// files; region from AWS_REGION, AWS_DEFAULT_REGION or the profile; the
// endpoint from endpoint, AWS_ENDPOINT_URL or the profile's endpoint_url.
func LoadCallerConfig(getenv func(string) string, profile, endpoint, region string) (*CallerConfig, error) {
	cc := &CallerConfig{Endpoint: endpoint, Region: region}
	// As with the AWS CLI, a --profile flag beats keys in the environment,
	// which beat AWS_PROFILE.
	flagProfile := profile != ""
	if profile == "" {
		profile = getenv("AWS_PROFILE")
	}
	if profile == "" {
		profile = getenv("AWS_DEFAULT_PROFILE")
	}
	explicitProfile := profile != ""
	if profile == "" {
		profile = "default"
	}
	home, _ := os.UserHomeDir()
	if h := getenv("HOME"); h != "" {
		home = h
	}
	credFile := getenv("AWS_SHARED_CREDENTIALS_FILE")
	if credFile == "" && home != "" {
		credFile = filepath.Join(home, ".aws", "credentials")
	}
	confFile := getenv("AWS_CONFIG_FILE")
	if confFile == "" && home != "" {
		confFile = filepath.Join(home, ".aws", "config")
	}
	creds, _ := readINI(credFile, profile)
	conf, _ := readINI(confFile, "profile "+profile)
	if conf == nil && profile == "default" {
		conf, _ = readINI(confFile, "default")
	}
	if explicitProfile && creds == nil && conf == nil {
		return nil, fmt.Errorf("profile %q not found", profile)
	}
	pick := func(env, key string) string {
		if v := getenv(env); v != "" {
			return v
		}
		if v := creds[key]; v != "" {
			return v
		}
		return conf[key]
	}
	if getenv("AWS_ACCESS_KEY_ID") != "" && !flagProfile {
		cc.Creds = StaticCredentials{getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN")}
	} else {
		src := creds
		if src["aws_access_key_id"] == "" {
			src = conf
		}
		cc.Creds = StaticCredentials{src["aws_access_key_id"], src["aws_secret_access_key"], src["aws_session_token"]}
	}
	if cc.Creds.AccessKeyID == "" || cc.Creds.SecretAccessKey == "" {
		return nil, errors.New("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or use a profile with static keys")
	}
	if cc.Region == "" {
		cc.Region = getenv("AWS_REGION")
	}
	if cc.Region == "" {
		cc.Region = pick("AWS_DEFAULT_REGION", "region")
	}
	if cc.Region == "" {
		cc.Region = "us-east-1"
	}
	if cc.Endpoint == "" {
		cc.Endpoint = pick("AWS_ENDPOINT_URL", "endpoint_url")
	}
	if cc.Endpoint == "" {
		return nil, errors.New("no endpoint: pass --endpoint-url, set AWS_ENDPOINT_URL or endpoint_url in the profile")
	}
	return cc, nil
}

// readINI returns the keys of one section of an AWS-style INI file (nil if
// the file or section is absent).
func readINI(path, section string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out map[string]string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' && line[len(line)-1] == ']' {
			in = strings.TrimSpace(line[1:len(line)-1]) == section
			if in && out == nil {
				out = map[string]string{}
			}
			continue
		}
		if !in {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			out[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	return out, sc.Err()
}
