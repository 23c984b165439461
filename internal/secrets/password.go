package secrets

import (
	"context"
	"crypto/rand"
	"math/big"
	"strings"

	"github.com/bulwark-security/bulwark/internal/api"
)

// Character classes of GetRandomPassword (API reference).
const (
	lowerChars = "abcdefghijklmnopqrstuvwxyz"
	upperChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digitChars = "0123456789"
	punctChars = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
)

type randomPasswordInput struct {
	PasswordLength          *int64 `json:"PasswordLength"`
	ExcludeCharacters       string `json:"ExcludeCharacters"`
	ExcludeNumbers          bool   `json:"ExcludeNumbers"`
	ExcludePunctuation      bool   `json:"ExcludePunctuation"`
	ExcludeUppercase        bool   `json:"ExcludeUppercase"`
	ExcludeLowercase        bool   `json:"ExcludeLowercase"`
	IncludeSpace            bool   `json:"IncludeSpace"`
	RequireEachIncludedType *bool  `json:"RequireEachIncludedType"`
}

func (in *randomPasswordInput) Validate() error {
	if in.PasswordLength != nil && (*in.PasswordLength < 1 || *in.PasswordLength > 4096) {
		return invalidParam("PasswordLength must be between 1 and 4096.")
	}
	if len(in.ExcludeCharacters) > 4096 {
		return invalidParam("ExcludeCharacters must be at most 4096 characters.")
	}
	return nil
}

type randomPasswordOutput struct {
	RandomPassword string `json:"RandomPassword"`
}

func (randomPasswordOutput) String() string { return "[REDACTED]" }

func (s *Service) getRandomPassword(_ context.Context, _ *api.Call, in *randomPasswordInput) (any, error) {
	pw, err := randomPassword(in)
	if err != nil {
		return nil, err
	}
	return &randomPasswordOutput{RandomPassword: pw}, nil
}

// randomPassword draws each character uniformly (crypto/rand, rejection
// sampling, no modulo bias) from the allowed set. With
// RequireEachIncludedType (the default) a draw lacking a class is thrown
// away and drawn again, which keeps the result uniform over the passwords
// that qualify.
func randomPassword(in *randomPasswordInput) (string, error) {
	n := 32
	if in.PasswordLength != nil {
		n = int(*in.PasswordLength)
	}
	keep := func(set string) string {
		return strings.Map(func(r rune) rune {
			if strings.ContainsRune(in.ExcludeCharacters, r) {
				return -1
			}
			return r
		}, set)
	}
	var classes []string
	add := func(excluded bool, set string) {
		if !excluded {
			if k := keep(set); k != "" {
				classes = append(classes, k)
			}
		}
	}
	add(in.ExcludeLowercase, lowerChars)
	add(in.ExcludeUppercase, upperChars)
	add(in.ExcludeNumbers, digitChars)
	add(in.ExcludePunctuation, punctChars)
	alphabet := strings.Join(classes, "")
	if in.IncludeSpace && !strings.ContainsRune(in.ExcludeCharacters, ' ') {
		alphabet += " "
	}
	if alphabet == "" {
		return "", invalidParam("The password can't be generated because all characters are excluded.")
	}
	require := in.RequireEachIncludedType == nil || *in.RequireEachIncludedType
	if require && n < len(classes) {
		return "", invalidParam("The password length is too short to include a character of each included type.")
	}
	buf := make([]byte, n)
	for attempt := 0; ; attempt++ {
		for i := range buf {
			buf[i] = alphabet[randIndex(len(alphabet))]
		}
		if !require || hasEach(buf, classes) {
			return string(buf), nil
		}
		if attempt > 10000 {
			// Only tiny lengths with many classes get here: place one of
			// each class at distinct random positions.
			for ci, pos := range randPerm(n)[:len(classes)] {
				buf[pos] = classes[ci][randIndex(len(classes[ci]))]
			}
			return string(buf), nil
		}
	}
}

func hasEach(b []byte, classes []string) bool {
	for _, c := range classes {
		if !strings.ContainsAny(string(b), c) {
			return false
		}
	}
	return true
}

// randIndex returns a uniform integer in [0, n) from crypto/rand.
func randIndex(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		panic("crypto/rand failed: " + err.Error()) // never happens since Go 1.24
	}
	return int(v.Int64())
}

func randPerm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := randIndex(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}
