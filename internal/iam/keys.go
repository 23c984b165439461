package iam

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/credentials"
	"github.com/bulwark-security/bulwark/internal/store"
)

type keyUserInput struct {
	UserName string
	found
}

func (in *keyUserInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.UserName = f.optName("UserName", 128)
	return f.err()
}

type listKeysInput struct {
	UserName string
	Page     pageInput
	found
}

func (in *listKeysInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.UserName = f.optName("UserName", 128)
	in.Page = f.page()
	return f.err()
}

type updateKeyInput struct {
	UserName, AccessKeyID, Status string
	found
}

func (in *updateKeyInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.UserName = f.optName("UserName", 128)
	in.AccessKeyID = f.accessKeyID("AccessKeyId")
	in.Status = f.enum("Status", true, "Active", "Inactive", "Expired")
	return f.err()
}

type deleteKeyInput struct {
	UserName, AccessKeyID string
	found
}

func (in *deleteKeyInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.UserName = f.optName("UserName", 128)
	in.AccessKeyID = f.accessKeyID("AccessKeyId")
	return f.err()
}

type keyLastUsedInput struct {
	AccessKeyID string
	ownerARN    string
}

func (in *keyLastUsedInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.AccessKeyID = f.accessKeyID("AccessKeyId")
	return f.err()
}

// keyOwner is the principal whose keys a call manages: the named user, or
// the caller when UserName is omitted ("the user name is determined
// implicitly based on the Amazon Web Services access key ID used to sign
// the request", IAM API reference, CreateAccessKey).
type keyOwner struct {
	typ      store.PrincipalType
	arn, id  string
	userName string
}

func (s *service) owner(ctx context.Context, c *api.Call, userName string) (keyOwner, error) {
	p := c.Principal
	if userName == "" {
		switch {
		case p.IsRoot():
			return keyOwner{typ: store.PrincipalRoot, arn: "arn:aws:iam::" + p.AccountID + ":root", id: p.AccountID}, nil
		case p.UserName != "" && p.RoleName == "":
			userName = p.UserName
		default:
			return keyOwner{}, awsproto.ValidationError("Must specify userName when calling with non-User credentials")
		}
	}
	u, err := s.cfg.IAM.GetUser(ctx, account(c), userName)
	if err != nil {
		return keyOwner{}, errMap{notFound: noSuchUser(userName)}.wrap(err, "get user")
	}
	return keyOwner{typ: store.PrincipalUser, arn: u.ARN, id: u.UserID, userName: u.UserName}, nil
}

// ownerARN is the resource of a key call: the user's ARN or the caller's.
func (s *service) ownerARN(c *api.Call, userName string, f *found) []string {
	if userName == "" {
		if c.Principal.IsRoot() {
			return []string{"arn:aws:iam::" + c.Principal.AccountID + ":root"}
		}
		if c.Principal.UserName != "" && c.Principal.RoleName == "" {
			return s.userARN(c, c.Principal.UserName, f)
		}
		return []string{c.Principal.ARN}
	}
	return s.userARN(c, userName, f)
}

func (s *service) resKeyUser(c *api.Call, in *keyUserInput) []string {
	return s.ownerARN(c, in.UserName, &in.found)
}
func (s *service) resListKeys(c *api.Call, in *listKeysInput) []string {
	return s.ownerARN(c, in.UserName, &in.found)
}
func (s *service) resUpdateKey(c *api.Call, in *updateKeyInput) []string {
	return s.ownerARN(c, in.UserName, &in.found)
}
func (s *service) resDeleteKey(c *api.Call, in *deleteKeyInput) []string {
	return s.ownerARN(c, in.UserName, &in.found)
}

// resKeyLastUsed authorises on the key's owner (resource type user).
func (s *service) resKeyLastUsed(c *api.Call, in *keyLastUsedInput) []string {
	ctx, cancel := lookupContext()
	defer cancel()
	k, err := s.cfg.Store.GetAccessKey(ctx, in.AccessKeyID)
	if err != nil || k.AccountID != account(c) {
		return []string{"*"}
	}
	in.ownerARN = k.PrincipalARN
	return []string{k.PrincipalARN}
}

type accessKeyXML struct {
	UserName        string `xml:"UserName,omitempty"`
	AccessKeyID     string `xml:"AccessKeyId"`
	Status          string `xml:"Status"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	CreateDate      string `xml:"CreateDate"`
}

type createKeyResult struct {
	AccessKey accessKeyXML `xml:"AccessKey"`
}

type keyMetadataXML struct {
	UserName    string `xml:"UserName,omitempty"`
	AccessKeyID string `xml:"AccessKeyId"`
	Status      string `xml:"Status"`
	CreateDate  string `xml:"CreateDate"`
}

type listKeysResult struct {
	AccessKeyMetadata struct {
		Members []keyMetadataXML `xml:"member"`
	} `xml:"AccessKeyMetadata"`
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

type keyLastUsedXML struct {
	LastUsedDate string `xml:"LastUsedDate,omitempty"`
	ServiceName  string `xml:"ServiceName"`
	Region       string `xml:"Region"`
}

type keyLastUsedResult struct {
	UserName          string         `xml:"UserName,omitempty"`
	AccessKeyLastUsed keyLastUsedXML `xml:"AccessKeyLastUsed"`
}

func keyLimit() *awsproto.Error {
	return limitExceeded("Cannot exceed quota for AccessKeysPerUser: %d", maxAccessKeysPerUser)
}

func (s *service) createAccessKey(ctx context.Context, c *api.Call, in *keyUserInput) (any, error) {
	o, err := s.owner(ctx, c, in.UserName)
	if err != nil {
		return nil, err
	}
	akid := credentials.NewAccessKeyID("AKIA")
	secret := credentials.NewSecretAccessKey()
	defer clear(secret)
	sealed, err := s.cfg.Keyring.Seal(secret, credentials.SecretAAD(akid))
	if err != nil {
		return nil, fmt.Errorf("seal secret of %s: %w", akid, err)
	}
	k := store.AccessKey{AccessKeyID: akid, AccountID: account(c), PrincipalType: o.typ, PrincipalARN: o.arn,
		PrincipalID: o.id, UserName: o.userName, Status: store.KeyActive, SealedSecret: sealed, CreatedAt: s.now()}
	if o.typ == store.PrincipalUser {
		err = s.cfg.IAM.CreateUserAccessKey(ctx, k, maxAccessKeysPerUser)
	} else {
		// Root keys: the store's user-key quota does not apply, so count
		// here (two servers racing could both pass; root keys are rare).
		var keys []store.AccessKey
		if keys, err = s.cfg.Store.ListAccessKeys(ctx, o.arn); err == nil {
			if len(keys) >= maxAccessKeysPerUser {
				return nil, keyLimit()
			}
			err = s.cfg.Store.CreateAccessKey(ctx, k)
		}
	}
	if err != nil {
		return nil, errMap{notFound: noSuchUser(in.UserName), limit: keyLimit()}.wrap(err, "create access key")
	}
	return &createKeyResult{AccessKey: accessKeyXML{UserName: o.userName, AccessKeyID: akid, Status: string(k.Status),
		SecretAccessKey: string(secret), CreateDate: isoTime(k.CreatedAt)}}, nil
}

func (s *service) listAccessKeys(ctx context.Context, c *api.Call, in *listKeysInput) (any, error) {
	o, err := s.owner(ctx, c, in.UserName)
	if err != nil {
		return nil, err
	}
	keys, err := s.cfg.Store.ListAccessKeys(ctx, o.arn)
	if err != nil {
		return nil, fmt.Errorf("list access keys: %w", err)
	}
	// Keys are ordered by creation time, not id: page by position.
	page, next := pageAfterID(keys, in.Page)
	r := &listKeysResult{IsTruncated: next != "", Marker: next}
	r.AccessKeyMetadata.Members = make([]keyMetadataXML, len(page))
	for i, k := range page {
		r.AccessKeyMetadata.Members[i] = keyMetadataXML{UserName: o.userName, AccessKeyID: k.AccessKeyID,
			Status: string(k.Status), CreateDate: isoTime(k.CreatedAt)}
	}
	return r, nil
}

// pageAfterID pages keys (in the store's order) after the one the marker names.
func pageAfterID(keys []store.AccessKey, p pageInput) ([]store.AccessKey, string) {
	start := 0
	if p.after != "" {
		start = len(keys)
	}
	for i, k := range keys {
		if p.after == "" {
			break
		}
		if k.AccessKeyID == p.after {
			start = i + 1
			break
		}
	}
	keys = keys[start:]
	if len(keys) <= p.MaxItems {
		return keys, ""
	}
	keys = keys[:p.MaxItems]
	return keys, encodeMarker(keys[len(keys)-1].AccessKeyID)
}

// ownedKey loads a key and checks it belongs to the owner.
func (s *service) ownedKey(ctx context.Context, o keyOwner, akid string) (store.AccessKey, error) {
	notFound := noSuchEntity("The Access Key with id %s cannot be found.", akid)
	k, err := s.cfg.Store.GetAccessKey(ctx, akid)
	if err != nil {
		return k, errMap{notFound: notFound}.wrap(err, "get access key")
	}
	if k.PrincipalARN != o.arn {
		return k, notFound
	}
	return k, nil
}

func (s *service) updateAccessKey(ctx context.Context, c *api.Call, in *updateKeyInput) (any, error) {
	o, err := s.owner(ctx, c, in.UserName)
	if err != nil {
		return nil, err
	}
	if _, err := s.ownedKey(ctx, o, in.AccessKeyID); err != nil {
		return nil, err
	}
	if in.Status == string("Expired") {
		// statusType lists Expired, but only AWS sets it.
		return nil, invalidInput("Invalid status: Expired. Valid values are Active and Inactive.")
	}
	if err := s.cfg.Store.SetAccessKeyStatus(ctx, in.AccessKeyID, store.KeyStatus(in.Status)); err != nil {
		return nil, errMap{notFound: noSuchEntity("The Access Key with id %s cannot be found.", in.AccessKeyID)}.
			wrap(err, "update access key")
	}
	s.cfg.OnAccessKeyChange(in.AccessKeyID)
	return nil, nil
}

func (s *service) deleteAccessKey(ctx context.Context, c *api.Call, in *deleteKeyInput) (any, error) {
	o, err := s.owner(ctx, c, in.UserName)
	if err != nil {
		return nil, err
	}
	if _, err := s.ownedKey(ctx, o, in.AccessKeyID); err != nil {
		return nil, err
	}
	if err := s.cfg.Store.DeleteAccessKey(ctx, in.AccessKeyID); err != nil {
		return nil, errMap{notFound: noSuchEntity("The Access Key with id %s cannot be found.", in.AccessKeyID)}.
			wrap(err, "delete access key")
	}
	s.cfg.OnAccessKeyChange(in.AccessKeyID)
	return nil, nil
}

func (s *service) getAccessKeyLastUsed(ctx context.Context, c *api.Call, in *keyLastUsedInput) (any, error) {
	k, err := s.cfg.Store.GetAccessKey(ctx, in.AccessKeyID)
	if err == nil && k.AccountID != account(c) {
		err = store.ErrNotFound
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, noSuchEntity("The Access Key with id %s cannot be found.", in.AccessKeyID)
		}
		return nil, fmt.Errorf("get access key: %w", err)
	}
	r := &keyLastUsedResult{UserName: k.UserName, AccessKeyLastUsed: keyLastUsedXML{ServiceName: "N/A", Region: "N/A"}}
	if !k.LastUsedAt.IsZero() {
		r.AccessKeyLastUsed = keyLastUsedXML{LastUsedDate: isoTime(k.LastUsedAt), ServiceName: k.LastUsedService,
			Region: k.LastUsedRegion}
	}
	return r, nil
}
