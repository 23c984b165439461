package policy

import (
	"encoding/json"
	"errors"
	"fmt"
)

// A small ordered JSON reader: encoding/json's maps lose key order and
// silently accept duplicate keys, and AWS refuses duplicates.

type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

type jvalue struct {
	kind jkind
	str  string // string value, or the literal text of a number
	b    bool
	arr  []jvalue
	obj  []jmember
	// start and end are the byte offsets of an object ('{' and one past
	// '}'), so that statements can be located in the original text.
	start, end int
}

type jmember struct {
	key string
	val jvalue
}

const maxDepth = 32

var errSyntax = errors.New("syntax error")

func (v *jvalue) get(key string) (*jvalue, bool) {
	for i := range v.obj {
		if v.obj[i].key == key {
			return &v.obj[i].val, true
		}
	}
	return nil, false
}

type jparser struct {
	data []byte
	pos  int
}

func parseJSON(data []byte) (jvalue, error) {
	if !json.Valid(data) {
		return jvalue{}, errSyntax
	}
	p := jparser{data: data}
	v, err := p.value(0)
	if err != nil {
		return jvalue{}, err
	}
	p.space()
	if p.pos != len(p.data) {
		return jvalue{}, errSyntax
	}
	return v, nil
}

type dupKeyError struct{ key string }

func (e *dupKeyError) Error() string { return fmt.Sprintf("duplicate key %q", e.key) }

func (p *jparser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jparser) value(depth int) (jvalue, error) {
	if depth > maxDepth {
		return jvalue{}, errSyntax
	}
	p.space()
	if p.pos >= len(p.data) {
		return jvalue{}, errSyntax
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		v := jvalue{kind: jObject, start: p.pos}
		p.pos++
		p.space()
		if p.pos < len(p.data) && p.data[p.pos] == '}' {
			p.pos++
			v.end = p.pos
			return v, nil
		}
		for {
			p.space()
			k, err := p.string()
			if err != nil {
				return jvalue{}, err
			}
			for _, m := range v.obj {
				if m.key == k {
					return jvalue{}, &dupKeyError{key: k}
				}
			}
			p.space()
			if p.pos >= len(p.data) || p.data[p.pos] != ':' {
				return jvalue{}, errSyntax
			}
			p.pos++
			val, err := p.value(depth + 1)
			if err != nil {
				return jvalue{}, err
			}
			v.obj = append(v.obj, jmember{key: k, val: val})
			p.space()
			if p.pos >= len(p.data) {
				return jvalue{}, errSyntax
			}
			if p.data[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.data[p.pos] == '}' {
				p.pos++
				v.end = p.pos
				return v, nil
			}
			return jvalue{}, errSyntax
		}
	case c == '[':
		p.pos++
		v := jvalue{kind: jArray, arr: []jvalue{}}
		p.space()
		if p.pos < len(p.data) && p.data[p.pos] == ']' {
			p.pos++
			return v, nil
		}
		for {
			val, err := p.value(depth + 1)
			if err != nil {
				return jvalue{}, err
			}
			v.arr = append(v.arr, val)
			p.space()
			if p.pos >= len(p.data) {
				return jvalue{}, errSyntax
			}
			if p.data[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.data[p.pos] == ']' {
				p.pos++
				return v, nil
			}
			return jvalue{}, errSyntax
		}
	case c == '"':
		s, err := p.string()
		return jvalue{kind: jString, str: s}, err
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range [...]string{"true", "false", "null"} {
			if len(p.data)-p.pos >= len(lit) && string(p.data[p.pos:p.pos+len(lit)]) == lit {
				p.pos += len(lit)
				switch lit {
				case "true":
					return jvalue{kind: jBool, b: true}, nil
				case "false":
					return jvalue{kind: jBool}, nil
				}
				return jvalue{kind: jNull}, nil
			}
		}
		return jvalue{}, errSyntax
	default:
		start := p.pos
		for p.pos < len(p.data) {
			switch p.data[p.pos] {
			case '-', '+', '.', 'e', 'E', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
				p.pos++
				continue
			}
			break
		}
		if start == p.pos {
			return jvalue{}, errSyntax
		}
		return jvalue{kind: jNumber, str: string(p.data[start:p.pos])}, nil
	}
}

func (p *jparser) string() (string, error) {
	if p.pos >= len(p.data) || p.data[p.pos] != '"' {
		return "", errSyntax
	}
	start := p.pos
	p.pos++
	escaped := false
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case '\\':
			escaped = true
			p.pos += 2
			continue
		case '"':
			p.pos++
			if !escaped {
				return string(p.data[start+1 : p.pos-1]), nil
			}
			var s string
			if err := json.Unmarshal(p.data[start:p.pos], &s); err != nil {
				return "", errSyntax
			}
			return s, nil
		}
		p.pos++
	}
	return "", errSyntax
}
