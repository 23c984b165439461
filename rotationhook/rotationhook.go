// Package rotationhook verifies the calls Bulwark makes to a secret
// rotation webhook. Bulwark drives a webhook through the four steps of a
// Secrets Manager rotation Lambda (createSecret, setSecret, testSecret,
// finishSecret), one HTTPS POST per step whose JSON body is the event a
// rotation Lambda receives:
//
//	{"SecretId": "<secret ARN>", "ClientRequestToken": "<new version id>", "Step": "createSecret"}
//
// Each request carries two headers:
//
//	X-Bulwark-Timestamp: <unix seconds when Bulwark signed it>
//	X-Bulwark-Signature: v1=<hex HMAC-SHA256(key, "v1:" + timestamp + ":" + body)>
//
// where key is the signing key PutRotationWebhook returned. A receiver
// recomputes the HMAC over the raw body, compares it in constant time, and
// refuses a timestamp more than Window away from its clock, so a captured
// request cannot be replayed later. The steps themselves are idempotent (a
// Lambda may be invoked again with the same token), so a replay inside the
// window does no harm.
//
// The endpoint performs the step by calling Bulwark's Secrets Manager API
// with its own credentials, as a rotation Lambda does, and answers 2xx on
// success; anything else fails the step (Bulwark retries 429 and 5xx).
package rotationhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Headers of a signed call.
const (
	HeaderTimestamp = "X-Bulwark-Timestamp"
	HeaderSignature = "X-Bulwark-Signature"
)

// Window is the largest difference between the signing time and the
// receiver's clock that Verify accepts.
const Window = 5 * time.Minute

// MaxBody bounds the body ParseRequest reads.
const MaxBody = 64 << 10

// Steps of a rotation.
const (
	StepCreate = "createSecret"
	StepSet    = "setSecret"
	StepTest   = "testSecret"
	StepFinish = "finishSecret"
)

// Event is the body of one call: what a rotation Lambda receives.
type Event struct {
	SecretID           string `json:"SecretId"`
	ClientRequestToken string `json:"ClientRequestToken"`
	Step               string `json:"Step"`
}

// Errors Verify returns (wrapped).
var (
	ErrNoSignature  = errors.New("rotationhook: request is not signed")
	ErrBadSignature = errors.New("rotationhook: signature does not match")
	ErrStale        = errors.New("rotationhook: timestamp outside the replay window")
)

func mac(key []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("v1:"))
	h.Write([]byte(ts))
	h.Write([]byte(":"))
	h.Write(body)
	return h.Sum(nil)
}

// Sign returns the header values that sign body at time at.
func Sign(key []byte, at time.Time, body []byte) (timestamp, signature string) {
	ts := strconv.FormatInt(at.Unix(), 10)
	return ts, "v1=" + hex.EncodeToString(mac(key, ts, body))
}

// Verify checks the signature headers h of body against key at time now.
func Verify(key []byte, h http.Header, body []byte, now time.Time) error {
	ts, sig := h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if ts == "" || sig == "" {
		return ErrNoSignature
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(ts) > 12 {
		return fmt.Errorf("%w: bad timestamp", ErrBadSignature)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > Window || d < -Window {
		return ErrStale
	}
	got, ok := bytes.CutPrefix([]byte(sig), []byte("v1="))
	want := mac(key, ts, body)
	dec := make([]byte, hex.DecodedLen(len(got)))
	if n, err := hex.Decode(dec, got); !ok || err != nil || !hmac.Equal(dec[:n], want) {
		return ErrBadSignature
	}
	return nil
}

// ParseRequest reads (at most MaxBody bytes), verifies and decodes a
// signed call.
func ParseRequest(key []byte, r *http.Request, now time.Time) (Event, error) {
	var ev Event
	if r.Method != http.MethodPost {
		return ev, fmt.Errorf("rotationhook: method %s, want POST", r.Method)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return ev, fmt.Errorf("rotationhook: read body: %w", err)
	}
	if len(body) > MaxBody {
		return ev, errors.New("rotationhook: body too large")
	}
	if err := Verify(key, r.Header, body, now); err != nil {
		return ev, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return ev, fmt.Errorf("rotationhook: decode event: %w", err)
	}
	switch ev.Step {
	case StepCreate, StepSet, StepTest, StepFinish:
	default:
		return ev, fmt.Errorf("rotationhook: unknown step %q", ev.Step)
	}
	if ev.SecretID == "" || ev.ClientRequestToken == "" {
		return ev, errors.New("rotationhook: SecretId and ClientRequestToken are required")
	}
	return ev, nil
}

// Handler returns an http.Handler that verifies each call with key and
// runs fn for it: 401 if the signature fails, 400 for a bad event, 500 if
// fn fails (Bulwark then retries), 204 on success. Errors are not echoed.
func Handler(key []byte, fn func(ctx context.Context, ev Event) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := ParseRequest(key, r, time.Now())
		switch {
		case errors.Is(err, ErrNoSignature), errors.Is(err, ErrBadSignature), errors.Is(err, ErrStale):
			http.Error(w, "signature verification failed", http.StatusUnauthorized)
			return
		case err != nil:
			http.Error(w, "bad rotation event", http.StatusBadRequest)
			return
		}
		if err := fn(r.Context(), ev); err != nil {
			http.Error(w, "rotation step failed", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
