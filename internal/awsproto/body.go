package awsproto

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// DefaultMaxBodyBytes bounds every API request body. The largest legitimate
// bodies are policy documents (IAM role policies up to 10,240 characters,
// resource policies up to 20,480) and secret values (65,536 bytes), each
// possibly escaped; 1 MiB leaves room for all of them and no more.
const DefaultMaxBodyBytes = 1 << 20

// ReadBody reads the request body, refusing one over limit before reading it
// whole: a declared Content-Length over the limit is rejected at once, and an
// undeclared (chunked) body is cut off at limit+1 bytes.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, RequestEntityTooLarge(limit)
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, RequestEntityTooLarge(limit)
		}
		return nil, Errorf(http.StatusBadRequest, "IncompleteBody", "The request body could not be read.").WithCause(fmt.Errorf("read body: %w", err))
	}
	if int64(len(buf)) > limit {
		return nil, RequestEntityTooLarge(limit)
	}
	return buf, nil
}
