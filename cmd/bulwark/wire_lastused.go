package main

import (
	"context"

	"github.com/bulwark-security/bulwark/internal/audit"
	"github.com/bulwark-security/bulwark/internal/credentials"
)

// Access keys' last use (iam:GetAccessKeyLastUsed), written in the
// background from the audit stream.
func init() {
	register("access-key-last-used", func(d *deps) (*parts, error) {
		lu := &credentials.LastUsed{Store: d.Store, Logger: d.Logger.With("component", "access-key-last-used")}
		return &parts{
			Subscribers: []audit.Subscriber{lu},
			Run:         lu.Run,
			AfterReset:  func(context.Context) error { lu.Forget(); return nil },
		}, nil
	})
}
