package sts

import (
	"context"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"crypto/rand"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/store"
)

// keyIDEncoding is the base32 alphabet of AWS access key ids.
var keyIDEncoding = base32.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567").WithPadding(base32.NoPadding)

// temporaryKeyID returns "ASIA" + 16 characters that encode the account
// (40 bits) and 40 random bits, so GetAccessKeyInfo can name the account of
// a temporary key without storing it, as AWS's key ids do.
func temporaryKeyID(account string) (string, error) {
	n, err := strconv.ParseUint(account, 10, 64)
	if err != nil || n >= 1<<40 {
		return "", fmt.Errorf("account id %q cannot be encoded", account)
	}
	var b [10]byte
	binary.BigEndian.PutUint64(b[:8], n<<24)
	_, _ = rand.Read(b[5:])
	return "ASIA" + keyIDEncoding.EncodeToString(b[:]), nil
}

// accountOfTemporaryKey decodes the account of an ASIA key id.
func accountOfTemporaryKey(akid string) (string, bool) {
	if len(akid) != 20 || !strings.HasPrefix(akid, "ASIA") {
		return "", false
	}
	b, err := keyIDEncoding.DecodeString(akid[4:])
	if err != nil || len(b) != 10 {
		return "", false
	}
	var full [8]byte
	copy(full[3:], b[:5])
	n := binary.BigEndian.Uint64(full[:])
	if n > 999999999999 {
		return "", false
	}
	return fmt.Sprintf("%012d", n), true
}

type getSessionTokenInput struct {
	DurationSeconds int
	SerialNumber    string
}

func (in *getSessionTokenInput) DecodeQuery(v url.Values) error {
	in.SerialNumber = v.Get("SerialNumber")
	var err error
	in.DurationSeconds, _, err = duration(v, 43200)
	return err
}

type getSessionTokenResult struct {
	Credentials credentialsXML `xml:"Credentials"`
}

// getSessionToken issues temporary credentials for an IAM user or the root
// user: the session has the caller's own permissions.
func (s *Service) getSessionToken(_ context.Context, c *api.Call, in *getSessionTokenInput) (any, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	caller := *c.Principal
	if caller.Temporary {
		return nil, awsproto.Errorf(403, "AccessDenied", "Cannot call GetSessionToken with session credentials")
	}
	if in.SerialNumber != "" {
		return nil, awsproto.Errorf(403, "AccessDenied", "MultiFactorAuthentication failed, unable to validate MFA code.")
	}
	d := in.DurationSeconds
	if caller.IsRoot() && d > 3600 {
		d = 3600 // "root user credentials ... are limited to one hour"
	}
	now := s.cfg.Now().UTC().Truncate(time.Second)
	caller.IssuedAt, caller.Expiration = now, now.Add(time.Duration(d)*time.Second)
	creds, err := s.issue(caller)
	if err != nil {
		return nil, err
	}
	return &getSessionTokenResult{Credentials: *creds}, nil
}

type getAccessKeyInfoInput struct{ AccessKeyID string }

func (in *getAccessKeyInfoInput) DecodeQuery(v url.Values) error {
	in.AccessKeyID = v.Get("AccessKeyId")
	return nil
}

func (in *getAccessKeyInfoInput) Validate() error {
	if in.AccessKeyID == "" {
		return awsproto.ValidationError("1 validation error detected: Value null at 'accessKeyId' failed to satisfy constraint: Member must not be null")
	}
	if !accessKeyIDRE.MatchString(in.AccessKeyID) {
		return validation(in.AccessKeyID, "accessKeyId", `Member must satisfy regular expression pattern: [\w]*`)
	}
	return nil
}

type getAccessKeyInfoResult struct {
	Account string `xml:"Account"`
}

// getAccessKeyInfo names the account that owns an access key.
func (s *Service) getAccessKeyInfo(ctx context.Context, _ *api.Call, in *getAccessKeyInfoInput) (any, error) {
	if acct, ok := accountOfTemporaryKey(in.AccessKeyID); ok {
		return &getAccessKeyInfoResult{Account: acct}, nil
	}
	if err := s.ready(); err != nil {
		return nil, err
	}
	k, err := s.cfg.Store.GetAccessKey(ctx, in.AccessKeyID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, awsproto.Errorf(400, "InvalidParameterValue", "The access key ID is not valid.")
	}
	if err != nil {
		return nil, fmt.Errorf("load access key: %w", err)
	}
	return &getAccessKeyInfoResult{Account: k.AccountID}, nil
}
