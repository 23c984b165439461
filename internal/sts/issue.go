package sts

import "github.com/bulwark-security/bulwark/internal/api"

// Credentials are temporary security credentials as STS issues them.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      string // ISO 8601, as in STS responses
}

// Issue mints a temporary access key for the role session p and seals the
// session into its token, exactly as AssumeRole does. Other services that
// hand out role sessions (workload identity) use it after they have
// authorised the call themselves; p must be a complete AssumedRole
// principal with IssuedAt and Expiration set.
func Issue(k Keyring, p api.Principal) (Credentials, error) {
	s := &Service{cfg: Config{Keyring: k}}
	c, err := s.issue(p)
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Expiration: c.Expiration}, nil
}
