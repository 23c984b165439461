package audit

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

// The hash chain. Each record's hash is
//
//	SHA-256("bulwark-audit-record-v1\x00" || prev || SHA-256(record))
//
// where record is the canonical record bytes exactly as stored and prev is
// the previous record's hash; a chain's first record links to
// Genesis(chainID). The sequence number is not hashed: order is what the
// links say, so `bulwark audit verify` can tell a record that moved
// (reordered) from one that changed (altered) or vanished (deleted).

// HashSize is the size of a record hash.
const HashSize = sha256.Size

// Genesis is the "previous hash" of a chain's first record.
func Genesis(chainID string) []byte {
	h := sha256.Sum256([]byte("bulwark-audit-genesis-v1\x00" + chainID))
	return h[:]
}

// RecordDigest is SHA-256 of the canonical record bytes.
func RecordDigest(record []byte) [HashSize]byte { return sha256.Sum256(record) }

// ChainHash links a record (by its digest) to the previous hash.
func ChainHash(prev []byte, recordDigest [HashSize]byte) []byte {
	h := sha256.New()
	h.Write([]byte("bulwark-audit-record-v1\x00"))
	h.Write(prev)
	h.Write(recordDigest[:])
	return h.Sum(nil)
}

// Username is what LookupEvents' Username attribute matches: the IAM user
// name, the role session name of an assumed role, "root" for the root
// principal.
func Username(id *UserIdentity) string {
	switch id.Type {
	case "Root":
		return "root"
	case "AssumedRole":
		if i := strings.LastIndexByte(id.ARN, '/'); i >= 0 {
			return id.ARN[i+1:]
		}
	}
	return id.UserName
}

// indexOf derives a record's lookup columns from its event. The verifier
// derives them again from the stored bytes and compares.
func indexOf(e *Event) store.AuditRecord {
	r := store.AuditRecord{
		EventID: safeString(e.EventID), AccountID: safeString(e.RecipientAccountID), EventTime: e.EventTime.UTC().Truncate(time.Second),
		EventName: safeString(e.EventName), EventSource: safeString(e.EventSource), ReadOnly: e.ReadOnly,
		Username: safeString(Username(&e.UserIdentity)), AccessKeyID: safeString(e.UserIdentity.AccessKeyID),
	}
	for _, res := range e.Resources {
		r.Resources = append(r.Resources, store.AuditResource{Type: res.Type, Name: res.ARN})
	}
	return r
}

// DecodeRecord parses stored record bytes. It is the verifier's parser of
// untrusted input: it bounds the size and requires the fields every record
// has.
func DecodeRecord(b []byte) (*Event, error) {
	if len(b) > 4*MaxElementBytes+64<<10 {
		return nil, fmt.Errorf("record of %d bytes exceeds the limit", len(b))
	}
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	if e.EventVersion == "" || e.EventID == "" || e.EventType == "" {
		return nil, fmt.Errorf("decode record: eventVersion, eventID or eventType missing")
	}
	return &e, nil
}
