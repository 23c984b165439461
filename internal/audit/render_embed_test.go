package audit

import (
	"strings"
	"testing"
)

type embeddedRef struct {
	KeyId string `json:"KeyId"`
	state string
}

type withEmbedded struct {
	embeddedRef
	Plaintext []byte `json:"Plaintext"`
}

// TestRenderEmbeddedUnexported: fields promoted from an embedded struct of
// an unexported type are rendered (as encoding/json encodes them), its
// unexported fields are not, and secrets stay hidden.
func TestRenderEmbeddedUnexported(t *testing.T) {
	out := string(Render(withEmbedded{embeddedRef: embeddedRef{KeyId: "alias/x", state: "internal"}, Plaintext: []byte("p")}, nil))
	if !strings.Contains(out, `"keyId":"alias/x"`) || strings.Contains(out, "internal") || strings.Contains(out, `"cA=="`) {
		t.Fatalf("Render = %s", out)
	}
}
