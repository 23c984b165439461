package workload

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadCallerConfig(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	conf := filepath.Join(dir, "config")
	os.WriteFile(creds, []byte("[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = d\n\n[ops]\naws_access_key_id=AKIAOPS\naws_secret_access_key=o\naws_session_token=tok\n"), 0o600)
	os.WriteFile(conf, []byte("[default]\nregion = eu-west-1\n[profile ops]\nregion = us-west-2\nendpoint_url = http://127.0.0.1:4747\n"), 0o600)
	base := map[string]string{"AWS_SHARED_CREDENTIALS_FILE": creds, "AWS_CONFIG_FILE": conf, "HOME": dir}
	tests := []struct {
		name                                         string
		env                                          map[string]string
		profile, endpoint                            string
		wantKey, wantRegion, wantEndpoint, wantToken string
		wantErr                                      bool
	}{
		{name: "default profile needs an endpoint", wantErr: true},
		{name: "default profile", endpoint: "http://e", wantKey: "AKIADEFAULT", wantRegion: "eu-west-1", wantEndpoint: "http://e"},
		{name: "AWS_PROFILE", env: map[string]string{"AWS_PROFILE": "ops"}, wantKey: "AKIAOPS", wantToken: "tok", wantRegion: "us-west-2", wantEndpoint: "http://127.0.0.1:4747"},
		{name: "environment keys beat AWS_PROFILE", env: map[string]string{"AWS_PROFILE": "ops", "AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "e"},
			wantKey: "AKIAENV", wantRegion: "us-west-2", wantEndpoint: "http://127.0.0.1:4747"},
		{name: "--profile beats environment keys", profile: "ops", env: map[string]string{"AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "e"},
			wantKey: "AKIAOPS", wantToken: "tok", wantRegion: "us-west-2", wantEndpoint: "http://127.0.0.1:4747"},
		{name: "region and endpoint from the environment", env: map[string]string{"AWS_PROFILE": "ops", "AWS_REGION": "ap-south-1", "AWS_ENDPOINT_URL": "http://x"},
			wantKey: "AKIAOPS", wantToken: "tok", wantRegion: "ap-south-1", wantEndpoint: "http://x"},
		{name: "missing profile", profile: "nope", wantErr: true},
	}
	for _, tt := range tests {
		env := func(k string) string {
			if v, ok := tt.env[k]; ok {
				return v
			}
			return base[k]
		}
		cc, err := LoadCallerConfig(env, tt.profile, tt.endpoint, "")
		if tt.wantErr {
			if err == nil {
				t.Errorf("%s: no error", tt.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if cc.Creds.AccessKeyID != tt.wantKey || cc.Creds.SessionToken != tt.wantToken || cc.Region != tt.wantRegion || cc.Endpoint != tt.wantEndpoint {
			t.Errorf("%s: %+v", tt.name, cc)
		}
	}
}
