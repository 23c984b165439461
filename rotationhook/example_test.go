package rotationhook_test

import (
	"context"
	"encoding/base64"
	"log"
	"net/http"
	"os"

	"github.com/bulwark-security/bulwark/rotationhook"
)

// A rotation webhook: the signing key is the one PutRotationWebhook
// returned (base64). Each verified call performs one step by calling
// Bulwark's Secrets Manager API with the endpoint's own credentials, as a
// rotation Lambda would.
func ExampleHandler() {
	key, err := base64.StdEncoding.DecodeString(os.Getenv("ROTATION_SIGNING_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/rotate", rotationhook.Handler(key, func(ctx context.Context, ev rotationhook.Event) error {
		switch ev.Step {
		case rotationhook.StepCreate:
			// PutSecretValue(SecretId, ClientRequestToken, new value, VersionStages ["AWSPENDING"])
		case rotationhook.StepSet:
			// change the credential in the system it protects
		case rotationhook.StepTest:
			// log in with the AWSPENDING value
		case rotationhook.StepFinish:
			// UpdateSecretVersionStage(AWSCURRENT, MoveToVersionId=ClientRequestToken)
		}
		return nil
	}))
	// Serve over TLS: Bulwark only calls https URLs.
	// log.Fatal(http.ListenAndServeTLS(":8443", "cert.pem", "key.pem", nil))
}
