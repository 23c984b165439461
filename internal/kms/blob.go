package kms

import (
	"encoding/binary"
	"errors"
	"slices"
)

// Ciphertext blob of a symmetric key, version 1 (all integers big-endian):
//
//	offset  size  field
//	0       1     format version (1)
//	1       16    key id (the UUID's 16 bytes)
//	17      4     key material version
//	21      12    AES-GCM nonce
//	33      n+16  AES-256-GCM ciphertext and tag
//
// The first 33 bytes are authenticated with the encryption context as
// additional data, so a blob moved to another key, version or context
// fails to open. The blob is attacker-supplied input: parseBlob checks
// every length before slicing.
const (
	blobVersion1   = 1
	blobHeaderLen  = 1 + 16 + 4 + 12
	blobTagLen     = 16
	blobOverhead   = blobHeaderLen + blobTagLen
	maxCiphertext  = 6144 // AWS's CiphertextBlob limit
	maxPlaintext   = 4096 // AWS's Encrypt Plaintext limit
	maxContextSize = 8192 // bounds the encryption context AAD
)

var errBlob = errors.New("malformed ciphertext blob")

// blobHeader is the parsed, not yet authenticated, header of a blob.
type blobHeader struct {
	keyID   [16]byte
	version uint32
	nonce   []byte
	sealed  []byte // ciphertext and tag
	aadHead []byte // the header bytes bound as additional data
}

// parseBlob splits a blob without trusting it.
func parseBlob(b []byte) (blobHeader, error) {
	var h blobHeader
	if len(b) < blobOverhead || len(b) > maxCiphertext || b[0] != blobVersion1 {
		return h, errBlob
	}
	copy(h.keyID[:], b[1:17])
	h.version = binary.BigEndian.Uint32(b[17:21])
	if h.version == 0 {
		return h, errBlob
	}
	h.nonce = b[21:blobHeaderLen]
	h.sealed = b[blobHeaderLen:]
	h.aadHead = b[:blobHeaderLen]
	return h, nil
}

// appendBlobHeader appends a blob header with the nonce to dst.
func appendBlobHeader(dst []byte, keyID [16]byte, version uint32, nonce []byte) []byte {
	dst = append(dst, blobVersion1)
	dst = append(dst, keyID[:]...)
	dst = binary.BigEndian.AppendUint32(dst, version)
	return append(dst, nonce...)
}

// contextAAD encodes an encryption context canonically (keys sorted, each
// key and value length-prefixed) after the blob header, so {"a":"bc"} and
// {"ab":"c"} differ and key order does not matter.
func contextAAD(head []byte, ec map[string]string) []byte {
	keys := make([]string, 0, len(ec))
	n := len(head) + 4
	for k, v := range ec {
		keys = append(keys, k)
		n += 8 + len(k) + len(v)
	}
	slices.Sort(keys)
	out := make([]byte, 0, n)
	out = append(out, head...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(keys)))
	for _, k := range keys {
		out = binary.BigEndian.AppendUint32(out, uint32(len(k)))
		out = append(out, k...)
		v := ec[k]
		out = binary.BigEndian.AppendUint32(out, uint32(len(v)))
		out = append(out, v...)
	}
	return out
}
