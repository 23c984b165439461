package keyring_test

import (
	"fmt"
	"log"
	"os"

	"github.com/bulwark-security/bulwark/internal/keyring"
)

// A secret access key is sealed before it reaches the store, bound to its
// access key id so the sealed bytes are useless in any other row.
func Example() {
	dataDir, err := os.MkdirTemp("", "bulwark-data")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dataDir)

	// With BULWARK_ROOT_KEY unset the key lives in <dataDir>/root.key.
	ring, err := keyring.Load(dataDir, "")
	if err != nil {
		log.Fatal(err)
	}
	accessKeyID := []byte("AKIAIOSFODNN7EXAMPLE")
	sealed, err := ring.Seal([]byte("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), accessKeyID)
	if err != nil {
		log.Fatal(err)
	}
	secret, err := ring.Open(sealed, accessKeyID)
	if err != nil {
		log.Fatal(err)
	}
	_, errOtherRow := ring.Open(sealed, []byte("AKIAOTHERKEY00000000"))
	fmt.Println(string(secret), len(sealed)-len(secret), errOtherRow != nil)
	// Output: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY 97 true
}
