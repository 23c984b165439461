package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"sync"
)

// deriveKey computes the SigV4 signing key:
// HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
func deriveKey(secret []byte, date, region, service string) [32]byte {
	k := make([]byte, 0, 4+len(secret))
	k = append(k, "AWS4"...)
	k = append(k, secret...)
	h := hmacSHA256(k, date)
	clear(k)
	h = hmacSHA256(h, region)
	h = hmacSHA256(h, service)
	h = hmacSHA256(h, terminator)
	var out [32]byte
	copy(out[:], h)
	clear(h)
	return out
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

const cacheShards = 16

// keyCache holds derived signing keys by "akid/date/region/service". An entry
// also keeps the secret it was derived from and is used only when the secret
// presented now is the same (compared in constant time), so a rotated or
// replaced secret never meets a stale key. Each shard keeps two generations:
// when the current one is full it becomes the old one and the previous old one
// is dropped, which bounds memory and keeps recently used keys (LRU-ish).
type keyCache struct {
	perShard int
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu       sync.Mutex
	cur, old map[string]*cachedKey
}

type cachedKey struct {
	secret []byte
	key    [32]byte
}

func newKeyCache(size int) *keyCache {
	per := size / cacheShards
	if per < 1 {
		per = 1
	}
	c := &keyCache{perShard: per}
	for i := range c.shards {
		c.shards[i].cur = make(map[string]*cachedKey)
	}
	return c
}

func (c *keyCache) shard(id string) *cacheShard {
	// FNV-1a; the key is attacker-chosen, but a skewed shard only costs
	// evictions, never correctness.
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= 16777619
	}
	return &c.shards[h%cacheShards]
}

// signingKey returns the signing key for id ("akid/date/region/service"),
// deriving and caching it on a miss.
func (c *keyCache) signingKey(id string, secret []byte, date, region, service string) [32]byte {
	s := c.shard(id)
	s.mu.Lock()
	e, ok := s.cur[id]
	if !ok {
		if e, ok = s.old[id]; ok {
			s.putLocked(c.perShard, id, e)
		}
	}
	s.mu.Unlock()
	if ok && subtle.ConstantTimeCompare(e.secret, secret) == 1 {
		return e.key
	}
	e = &cachedKey{secret: append([]byte(nil), secret...), key: deriveKey(secret, date, region, service)}
	s.mu.Lock()
	s.putLocked(c.perShard, id, e)
	s.mu.Unlock()
	return e.key
}

func (s *cacheShard) putLocked(max int, id string, e *cachedKey) {
	if _, ok := s.cur[id]; ok {
		s.cur[id] = e
		return
	}
	if len(s.cur) >= max {
		s.old, s.cur = s.cur, make(map[string]*cachedKey, max)
	}
	// id may point into a request header; do not keep that alive.
	s.cur[strings.Clone(id)] = e
}
