package iam

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/store"
)

type oidcRef interface{ providerARN() string }

func resOIDC[In any](_ *api.Call, in *In) []string {
	return []string{any(in).(oidcRef).providerARN()}
}

type createOIDCInput struct {
	URL                    string
	ClientIDs, Thumbprints []string
	Tags                   []store.Tag
	host                   string // URL without the scheme: the ARN's resource
}

func (in *createOIDCInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.URL = f.str("Url", true, 1, maxURLLen, nil, "")
	in.ClientIDs = f.clientIDs("ClientIDList")
	in.Thumbprints = f.thumbprints("ThumbprintList")
	in.Tags = f.tags("Tags")
	if err := f.err(); err != nil {
		return err
	}
	host, err := providerHost(in.URL)
	if err != nil {
		return err
	}
	in.host = host
	return nil
}

func (in *createOIDCInput) RequestContext(*api.Call) map[string][]string { return tagContext(in.Tags) }

// providerHost checks an issuer URL (https, a host, no query or fragment)
// and returns it without the scheme and trailing slash, as IAM names the
// provider (arn:aws:iam::<acct>:oidc-provider/<host/path>).
func providerHost(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
		strings.ContainsAny(raw, " \t\r\n") {
		return "", invalidInput("Invalid Url: %s. The URL must begin with https:// and name a host.", shorten(raw))
	}
	return strings.ToLower(u.Host) + strings.TrimSuffix(u.EscapedPath(), "/"), nil
}

func (f *form) clientIDs(key string) []string {
	ids := f.list(key, maxClientIDsPerOIDC)
	for i, id := range ids {
		if id == "" || len(id) > maxClientIDLen {
			f.errs = append(f.errs, fmt.Sprintf("Value '%s' at '%s.%d.member' failed to satisfy constraint: Member must have length between 1 and %d",
				shorten(id), lowerFirst(key), i+1, maxClientIDLen))
		}
	}
	return ids
}

func (f *form) thumbprints(key string) []string {
	tps := f.list(key, maxThumbprintsPerOIDC)
	for i, tp := range tps {
		if !thumbprintRE.MatchString(tp) {
			f.errs = append(f.errs, fmt.Sprintf("Value '%s' at '%s.%d.member' failed to satisfy constraint: Member must have length 40 and be hexadecimal",
				shorten(tp), lowerFirst(key), i+1))
		}
	}
	return tps
}

type oidcARNInput struct{ OpenIDConnectProviderArn string }

func (in *oidcARNInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.OpenIDConnectProviderArn = f.arn("OpenIDConnectProviderArn")
	return f.err()
}

func (in *oidcARNInput) providerARN() string { return in.OpenIDConnectProviderArn }

type oidcThumbprintInput struct {
	OpenIDConnectProviderArn string
	Thumbprints              []string
}

func (in *oidcThumbprintInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.OpenIDConnectProviderArn = f.arn("OpenIDConnectProviderArn")
	in.Thumbprints = f.thumbprints("ThumbprintList")
	if in.Thumbprints == nil && len(f.errs) == 0 {
		f.fail("ThumbprintList", nil, "Member must not be null")
	}
	return f.err()
}

func (in *oidcThumbprintInput) providerARN() string { return in.OpenIDConnectProviderArn }

type oidcClientIDInput struct{ OpenIDConnectProviderArn, ClientID string }

func (in *oidcClientIDInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.OpenIDConnectProviderArn = f.arn("OpenIDConnectProviderArn")
	in.ClientID = f.str("ClientID", true, 1, maxClientIDLen, nil, "")
	return f.err()
}

func (in *oidcClientIDInput) providerARN() string { return in.OpenIDConnectProviderArn }

type tagOIDCInput struct {
	OpenIDConnectProviderArn string
	Tags                     []store.Tag
}

func (in *tagOIDCInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.OpenIDConnectProviderArn = f.arn("OpenIDConnectProviderArn")
	in.Tags = f.tags("Tags")
	if len(in.Tags) == 0 && len(f.errs) == 0 {
		f.fail("Tags", nil, "Member must not be null")
	}
	return f.err()
}

func (in *tagOIDCInput) providerARN() string { return in.OpenIDConnectProviderArn }

func (in *tagOIDCInput) RequestContext(*api.Call) map[string][]string { return tagContext(in.Tags) }

type untagOIDCInput struct {
	OpenIDConnectProviderArn string
	TagKeys                  []string
}

func (in *untagOIDCInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.OpenIDConnectProviderArn = f.arn("OpenIDConnectProviderArn")
	in.TagKeys = f.tagKeys("TagKeys")
	return f.err()
}

func (in *untagOIDCInput) providerARN() string { return in.OpenIDConnectProviderArn }

func (in *untagOIDCInput) RequestContext(*api.Call) map[string][]string {
	return map[string][]string{keyTagKeys: in.TagKeys}
}

type oidcPageInput struct {
	OpenIDConnectProviderArn string
	Page                     pageInput
}

func (in *oidcPageInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.OpenIDConnectProviderArn = f.arn("OpenIDConnectProviderArn")
	in.Page = f.page()
	return f.err()
}

func (in *oidcPageInput) providerARN() string { return in.OpenIDConnectProviderArn }

// noInput is an action without parameters (extra ones are ignored, as AWS does).
type noInput struct{}

func (*noInput) DecodeQuery(url.Values) error { return nil }

func (s *service) resCreateOIDC(c *api.Call, in *createOIDCInput) []string {
	return []string{oidcARN(account(c), in.host)}
}

func oidcARN(acct, host string) string { return "arn:aws:iam::" + acct + ":oidc-provider/" + host }

func noSuchProvider(arn string) *awsproto.Error {
	return noSuchEntity("OpenIDConnect Provider not found for arn %s", arn)
}

// provider loads a provider of the caller's account.
func (s *service) provider(ctx context.Context, c *api.Call, arn string) (store.OIDCProvider, error) {
	if !strings.HasPrefix(arn, "arn:aws:iam::"+account(c)+":oidc-provider/") {
		return store.OIDCProvider{}, noSuchProvider(arn)
	}
	p, err := s.cfg.IAM.GetOIDCProvider(ctx, arn)
	if err != nil {
		return p, errMap{notFound: noSuchProvider(arn)}.wrap(err, "get OIDC provider")
	}
	return p, nil
}

type createOIDCResult struct {
	OpenIDConnectProviderArn string   `xml:"OpenIDConnectProviderArn"`
	Tags                     *tagsXML `xml:"Tags,omitempty"`
}

type getOIDCResult struct {
	URL            string     `xml:"Url"`
	ClientIDList   stringsXML `xml:"ClientIDList"`
	ThumbprintList stringsXML `xml:"ThumbprintList"`
	CreateDate     string     `xml:"CreateDate"`
	Tags           *tagsXML   `xml:"Tags,omitempty"`
}

type oidcListResult struct {
	OpenIDConnectProviderList struct {
		Members []oidcEntryXML `xml:"member"`
	} `xml:"OpenIDConnectProviderList"`
}

type oidcEntryXML struct {
	Arn string `xml:"Arn"`
}

func (s *service) createOIDCProvider(ctx context.Context, c *api.Call, in *createOIDCInput) (any, error) {
	acct := account(c)
	p := store.OIDCProvider{AccountID: acct, ARN: oidcARN(acct, in.host), URL: "https://" + in.host,
		ClientIDs: dedup(in.ClientIDs), Thumbprints: dedup(in.Thumbprints), CreatedAt: s.now(), Tags: in.Tags}
	if err := s.cfg.IAM.CreateOIDCProvider(ctx, p); err != nil {
		return nil, errMap{conflict: entityExists("Provider with url %s already exists.", p.URL)}.wrap(err, "create OIDC provider")
	}
	return &createOIDCResult{OpenIDConnectProviderArn: p.ARN, Tags: tagList(p.Tags)}, nil
}

func dedup(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func (s *service) getOIDCProvider(ctx context.Context, c *api.Call, in *oidcARNInput) (any, error) {
	p, err := s.provider(ctx, c, in.OpenIDConnectProviderArn)
	if err != nil {
		return nil, err
	}
	// IAM returns the URL without its scheme.
	return &getOIDCResult{URL: strings.TrimPrefix(p.URL, "https://"), ClientIDList: stringList(p.ClientIDs),
		ThumbprintList: stringList(p.Thumbprints), CreateDate: isoTime(p.CreatedAt), Tags: tagList(p.Tags)}, nil
}

func (s *service) listOIDCProviders(ctx context.Context, c *api.Call, _ *noInput) (any, error) {
	ps, err := s.cfg.IAM.ListOIDCProviders(ctx, account(c))
	if err != nil {
		return nil, fmt.Errorf("list OIDC providers: %w", err)
	}
	r := &oidcListResult{}
	r.OpenIDConnectProviderList.Members = make([]oidcEntryXML, len(ps))
	for i, p := range ps {
		r.OpenIDConnectProviderList.Members[i] = oidcEntryXML{Arn: p.ARN}
	}
	return r, nil
}

func (s *service) deleteOIDCProvider(ctx context.Context, c *api.Call, in *oidcARNInput) (any, error) {
	if _, err := s.provider(ctx, c, in.OpenIDConnectProviderArn); err != nil {
		return nil, err
	}
	if err := s.cfg.IAM.DeleteOIDCProvider(ctx, in.OpenIDConnectProviderArn); err != nil {
		return nil, errMap{notFound: noSuchProvider(in.OpenIDConnectProviderArn)}.wrap(err, "delete OIDC provider")
	}
	return nil, nil
}

func (s *service) updateOIDCThumbprint(ctx context.Context, c *api.Call, in *oidcThumbprintInput) (any, error) {
	p, err := s.provider(ctx, c, in.OpenIDConnectProviderArn)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.IAM.UpdateOIDCProvider(ctx, p.ARN, p.ClientIDs, dedup(in.Thumbprints)); err != nil {
		return nil, errMap{notFound: noSuchProvider(p.ARN)}.wrap(err, "update OIDC provider")
	}
	return nil, nil
}

func (s *service) addOIDCClientID(ctx context.Context, c *api.Call, in *oidcClientIDInput) (any, error) {
	p, err := s.provider(ctx, c, in.OpenIDConnectProviderArn)
	if err != nil {
		return nil, err
	}
	if slices.Contains(p.ClientIDs, in.ClientID) {
		return nil, nil // idempotent, as in AWS
	}
	if len(p.ClientIDs) >= maxClientIDsPerOIDC {
		return nil, limitExceeded("Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: %d", maxClientIDsPerOIDC)
	}
	ids := append(slices.Clone(p.ClientIDs), in.ClientID)
	if err := s.cfg.IAM.UpdateOIDCProvider(ctx, p.ARN, ids, p.Thumbprints); err != nil {
		return nil, errMap{notFound: noSuchProvider(p.ARN)}.wrap(err, "update OIDC provider")
	}
	return nil, nil
}

func (s *service) removeOIDCClientID(ctx context.Context, c *api.Call, in *oidcClientIDInput) (any, error) {
	p, err := s.provider(ctx, c, in.OpenIDConnectProviderArn)
	if err != nil {
		return nil, err
	}
	ids := slices.DeleteFunc(slices.Clone(p.ClientIDs), func(id string) bool { return id == in.ClientID })
	if len(ids) == len(p.ClientIDs) {
		return nil, nil // removing an absent client id succeeds, as in AWS
	}
	if err := s.cfg.IAM.UpdateOIDCProvider(ctx, p.ARN, ids, p.Thumbprints); err != nil {
		return nil, errMap{notFound: noSuchProvider(p.ARN)}.wrap(err, "update OIDC provider")
	}
	return nil, nil
}

func (s *service) tagOIDCProvider(ctx context.Context, c *api.Call, in *tagOIDCInput) (any, error) {
	if _, err := s.provider(ctx, c, in.OpenIDConnectProviderArn); err != nil {
		return nil, err
	}
	err := s.cfg.IAM.TagResource(ctx, account(c), store.TagOIDCProvider, in.OpenIDConnectProviderArn, in.Tags, maxTagsPerResource)
	if err != nil {
		return nil, errMap{notFound: noSuchProvider(in.OpenIDConnectProviderArn), limit: tagLimit("OpenID Connect provider")}.
			wrap(err, "tag OIDC provider")
	}
	return nil, nil
}

func (s *service) untagOIDCProvider(ctx context.Context, c *api.Call, in *untagOIDCInput) (any, error) {
	if _, err := s.provider(ctx, c, in.OpenIDConnectProviderArn); err != nil {
		return nil, err
	}
	err := s.cfg.IAM.UntagResource(ctx, account(c), store.TagOIDCProvider, in.OpenIDConnectProviderArn, in.TagKeys)
	if err != nil {
		return nil, errMap{notFound: noSuchProvider(in.OpenIDConnectProviderArn)}.wrap(err, "untag OIDC provider")
	}
	return nil, nil
}

func (s *service) listOIDCProviderTags(ctx context.Context, c *api.Call, in *oidcPageInput) (any, error) {
	p, err := s.provider(ctx, c, in.OpenIDConnectProviderArn)
	if err != nil {
		return nil, err
	}
	return pageTags(p.Tags, in.Page), nil
}
