package sts

import (
	"context"
	"errors"
	"net/url"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/awsproto"
)

type decodeAuthorizationMessageInput struct{ EncodedMessage string }

func (in *decodeAuthorizationMessageInput) DecodeQuery(v url.Values) error {
	in.EncodedMessage = v.Get("EncodedMessage")
	return nil
}

func (in *decodeAuthorizationMessageInput) Validate() error {
	if in.EncodedMessage == "" {
		return awsproto.ValidationError("1 validation error detected: Value null at 'encodedMessage' failed to satisfy constraint: Member must not be null")
	}
	if len(in.EncodedMessage) > 10240 {
		return validation(in.EncodedMessage, "encodedMessage", "Member must have length less than or equal to 10240")
	}
	return nil
}

type decodeAuthorizationMessageResult struct {
	DecodedMessage string `xml:"DecodedMessage"`
}

// decodeAuthorizationMessage opens the encoded message of an AccessDenied
// answer.
func (s *Service) decodeAuthorizationMessage(_ context.Context, _ *api.Call, in *decodeAuthorizationMessageInput) (any, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	msg, err := authz.DecodeFailure(s.cfg.Keyring, in.EncodedMessage)
	if errors.Is(err, authz.ErrBadMessage) {
		return nil, awsproto.Errorf(400, "InvalidAuthorizationMessageException", "The error message could not be decoded.")
	}
	if err != nil {
		return nil, err
	}
	return &decodeAuthorizationMessageResult{DecodedMessage: msg}, nil
}
