// Package sigv4 verifies and creates AWS Signature Version 4 signatures
// (algorithm AWS4-HMAC-SHA256), for both the Authorization header and
// presigned URLs (query-string authentication).
//
// The server calls Parse, which reads what the request claims without
// touching any secret (enough to route by the credential scope's service),
// then Verifier.Verify with the body it has read. Sign and Presign are for
// Bulwark's own clients and tests.
//
// # What Verify checks, in order, and the error each failure gives
//
//  1. Credential scope: terminator "aws4_request", the service (when
//     Config.Services is set), the region (Config.Region, plus "us-east-1"
//     for "iam", which is global) and the scope date equal to the date of
//     X-Amz-Date: SignatureDoesNotMatch (403).
//  2. Signed headers: "host" always; "x-amz-date" (or "date" when the time
//     came from the Date header) and "x-amz-security-token" when those
//     headers carry the time and token: IncompleteSignature (400).
//  3. Time: header authentication allows 15 minutes of clock skew either
//     way (Config.MaxSkew): SignatureDoesNotMatch (403) with AWS's "Signature
//     expired: ... is now earlier than ... (... - 15 min.)" or "Signature not
//     yet current" message. Presigned URLs expire X-Amz-Expires after
//     X-Amz-Date (15 minutes when absent): RequestExpired (400) "Request has
//     expired".
//  4. X-Amz-Content-Sha256, when present, equals the SHA-256 of the body
//     unless it is UNSIGNED-PAYLOAD: XAmzContentSHA256Mismatch (400).
//     Chunked STREAMING-* payloads are refused (IncompleteSignature).
//  5. The secret, from Config.Credentials: ErrUnknownKey and ErrInvalidToken
//     give InvalidClientTokenId (403), ErrExpiredToken ExpiredToken (403),
//     anything else is returned wrapped, as an internal failure.
//  6. The signature over the canonical request, compared in constant time:
//     SignatureDoesNotMatch (403).
//
// Parse answers MissingAuthenticationToken (403) when a request has neither
// an Authorization header nor presigned query parameters, and
// IncompleteSignature (400) when what it has is malformed (missing
// Credential/SignedHeaders/Signature, no X-Amz-Date or Date, bad date, both
// mechanisms at once, X-Amz-Expires over 604800, ...). Parse bounds its
// work: the Authorization header to 8 KiB, 128 signed headers, 10,000 query
// parameters, a 64 KiB presigned query string.
//
// Cheap checks come before the secret lookup, so stale or malformed requests
// never reach the store.
//
// # Where the codes and statuses come from
//
// Codes, statuses and most messages follow the "Common Errors" pages of the
// IAM and STS API references (https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html):
// IncompleteSignature 400, InvalidClientTokenId 403,
// MissingAuthenticationToken 403, RequestExpired 400, ExpiredToken 403.
// Clock skew on header authentication is answered the way STS really does
// (SignatureDoesNotMatch, "Signature expired: ...", as seen in
// aws/aws-cli#6676) rather than with RequestExpired, because the AWS SDKs'
// clock-skew correction (aws-sdk-go-v2 aws/retry clockSkewCodes) retries with
// a corrected clock on SignatureDoesNotMatch and not on RequestExpired.
// XAmzContentSHA256Mismatch is S3's code for a payload hash mismatch.
// JSON-protocol services spell some of these differently
// (UnrecognizedClientException, InvalidSignatureException, ...); Error.JSON
// gives that spelling.
// Messages never echo a signature, secret or token; AWS's habit of echoing
// the whole Authorization header back is deliberately not copied.
//
// # The canonical request
//
// Built as "Create a signed AWS API request" (IAM User Guide) specifies, and
// tested against aws-sdk-go-v2's signer (SignHTTP and PresignHTTP), the aws
// CLI's botocore signer and the AWS SigV4 test suite vectors
// (testdata/aws-sig-v4-test-suite.json):
//
//   - Canonical URI: the path as it travelled on the wire (already
//     percent-encoded once) URI-encoded again, which is the "encode each
//     segment twice" rule for every service but S3. When that does not match
//     and the path has "." / ".." segments or repeated slashes, the
//     normalized path is tried too, as botocore signs it.
//   - Canonical query: names and values decoded as net/url does (so handlers
//     see exactly what was signed), re-encoded with RFC 3986 rules (%20,
//     uppercase hex), sorted by name then value; X-Amz-Signature is left out
//     for presigned URLs. When that does not match, the raw pairs sorted as
//     they are (botocore's form for a query already in the URL) are tried.
//   - Canonical headers: the signed names in the order the client listed
//     them, values trimmed with runs of spaces collapsed, repeated headers
//     joined with commas. Host comes from Request.Host, and Content-Length
//     from Request.ContentLength when net/http took it out of the header map.
//   - Payload: hex SHA-256 of the body, or UNSIGNED-PAYLOAD when the client
//     sent that in X-Amz-Content-Sha256.
//
// # Performance
//
// Derived signing keys are cached per access key, date, region and service
// (bounded, sharded, two generations) together with the secret they came
// from, so a changed secret never reuses a stale key. The canonical request
// and the HMAC are built in pooled buffers; see BenchmarkVerify.
package sigv4
