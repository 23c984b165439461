package policy

import "strings"

// Context holds the request's condition keys and their values (the "request
// context" of the IAM User Guide). Key names are case-insensitive; values
// are compared as each operator says. A Context is owned by the caller and
// meant to be reused: Reset keeps the storage, so filling and evaluating a
// recycled Context allocates nothing once it has grown to size. The zero
// value is an empty context. A Context is not safe for concurrent writes;
// any number of evaluations may read it at once.
type Context struct {
	entries []ctxEntry
	vals    []string
}

type ctxEntry struct {
	key        string
	hash       uint64
	start, end int32
}

// Reset empties the context, keeping its storage.
func (c *Context) Reset() {
	c.entries = c.entries[:0]
	clear(c.vals) // drop references to the previous request's strings
	c.vals = c.vals[:0]
}

// Set gives key the values, replacing any it had. A key set with no values
// is present but empty, which the operators treat like a missing key.
func (c *Context) Set(key string, values ...string) {
	c.Delete(key)
	start := int32(len(c.vals))
	c.vals = append(c.vals, values...)
	c.entries = append(c.entries, ctxEntry{key: key, hash: keyHash(key), start: start, end: int32(len(c.vals))})
}

// Add appends one value to key, creating the key if needed; use it to build
// multi-valued keys such as aws:TagKeys.
func (c *Context) Add(key, value string) {
	h := keyHash(key)
	if n := len(c.entries); n > 0 {
		last := &c.entries[n-1]
		if last.hash == h && strings.EqualFold(last.key, key) && int(last.end) == len(c.vals) {
			c.vals = append(c.vals, value)
			last.end++
			return
		}
	}
	if old, ok := c.Lookup(key); ok {
		c.Delete(key)
		start := int32(len(c.vals))
		c.vals = append(c.vals, old...)
		c.vals = append(c.vals, value)
		c.entries = append(c.entries, ctxEntry{key: key, hash: h, start: start, end: int32(len(c.vals))})
		return
	}
	c.Set(key, value)
}

// Delete removes key.
func (c *Context) Delete(key string) {
	h := keyHash(key)
	for i := range c.entries {
		e := &c.entries[i]
		if e.hash == h && strings.EqualFold(e.key, key) {
			copy(c.entries[i:], c.entries[i+1:])
			c.entries = c.entries[:len(c.entries)-1]
			return
		}
	}
}

// Lookup returns key's values. The slice aliases the context's storage.
func (c *Context) Lookup(key string) ([]string, bool) {
	if c == nil {
		return nil, false
	}
	s, e, ok := c.find(key, keyHash(key))
	if !ok {
		return nil, false
	}
	return c.vals[s:e:e], true
}

// Keys lists the key names in the order they were set.
func (c *Context) Keys() []string {
	if c == nil {
		return nil
	}
	out := make([]string, len(c.entries))
	for i, e := range c.entries {
		out[i] = e.key
	}
	return out
}

func (c *Context) find(key string, h uint64) (start, end int32, ok bool) {
	if c == nil {
		return 0, 0, false
	}
	for i := range c.entries {
		e := &c.entries[i]
		if e.hash == h && len(e.key) == len(key) && strings.EqualFold(e.key, key) {
			return e.start, e.end, true
		}
	}
	return 0, 0, false
}

// keyHash is FNV-1a over the ASCII-lowered bytes of a key; non-ASCII bytes
// are skipped so that strings.EqualFold stays the final judge.
func keyHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			continue
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// findLower is find for a key also given in lower case; keys are usually
// written with the same case in policies and contexts, so an exact
// comparison is tried first.
func (c *Context) findLower(key, lower string, h uint64) (start, end int32, ok bool) {
	if c == nil {
		return 0, 0, false
	}
	for i := range c.entries {
		e := &c.entries[i]
		if e.hash == h && (e.key == key || eqLower(lower, e.key)) {
			return e.start, e.end, true
		}
	}
	return 0, 0, false
}

// multiValuedKeys are the context keys whose type is multivalued
// (ArrayOf...): the global keys of the IAM User Guide, "AWS global condition
// context keys" (Value type: Multivalued), and the multivalued keys of the
// services Bulwark serves from the Service Authorization Reference
// (ArrayOfString, ArrayOfARN). "You can't use a multivalued context key as a
// policy variable" (IAM User Guide, "Single-valued vs. multivalued context
// keys"), even when a request holds one value. Lower case.
var multiValuedKeys = map[string]bool{
	"aws:calledvia":                    true,
	"aws:principalorgpaths":            true,
	"aws:principalservicenameslist":    true,
	"aws:resourceorgpaths":             true,
	"aws:sourceorgpaths":               true,
	"aws:tagkeys":                      true,
	"aws:vpceorgpaths":                 true,
	"iam:accountpropertynamespaces":    true,
	"kms:encryptioncontextkeys":        true,
	"kms:grantoperations":              true,
	"kms:resourcealiases":              true,
	"secretsmanager:addreplicaregions": true,
	"sts:identitytokenaudience":        true,
	"sts:requestcontextproviders":      true,
	"sts:transitivetagkeys":            true,
}

// isMultiValuedKey reports whether key is a multivalued context key. Only
// the compiler calls it.
func isMultiValuedKey(key string) bool { return multiValuedKeys[strings.ToLower(key)] }
