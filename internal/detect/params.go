package detect

import "github.com/bulwark-security/bulwark/internal/audit"

// requestParameters is the event's redacted request parameters (CloudTrail
// spelling: lower camel case), or nil.
func requestParameters(e *audit.Event) []byte { return e.RequestParameters }
