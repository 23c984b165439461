package e2e

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/sigv4"
)

// TestWireErrors sends hand-made requests and checks the AWS error code and
// HTTP status of each failure mode.
func TestWireErrors(t *testing.T) {
	s := startServer(t, nil)
	akid, secret := rootCredentials(t, s.DataDir)
	form := func(v string) []byte { return []byte(v) }
	signed := func(method, path string, body []byte, service string, at time.Time, hdr map[string]string) *http.Request {
		req, _ := http.NewRequest(method, s.Endpoint+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		if err := sigv4.Sign(req, body, akid, []byte(secret), "", "us-east-1", service, at); err != nil {
			t.Fatal(err)
		}
		return req
	}
	now := time.Now().UTC()
	cases := []struct {
		name       string
		req        *http.Request
		wantStatus int
		wantCode   string
	}{
		{"ok", signed("POST", "/", form("Action=GetCallerIdentity&Version=2011-06-15"), "sts", now, nil), 200, ""},
		{"unsigned", func() *http.Request {
			r, _ := http.NewRequest("POST", s.Endpoint+"/", strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}(), 403, "MissingAuthenticationToken"},
		{"unknown action", signed("POST", "/", form("Action=GetCallerIdentityX&Version=2011-06-15"), "sts", now, nil), 400, "InvalidAction"},
		{"wrong version", signed("POST", "/", form("Action=GetCallerIdentity&Version=2010-05-08"), "sts", now, nil), 400, "InvalidAction"},
		{"missing action", signed("POST", "/", form("Version=2011-06-15"), "sts", now, nil), 400, "MissingAction"},
		{"malformed form", signed("POST", "/", form("Action=GetCallerIdentity&Version=2011-06-15&x=%zz"), "sts", now, nil), 404, "MalformedQueryString"},
		{"skew", signed("POST", "/", form("Action=GetCallerIdentity&Version=2011-06-15"), "sts", now.Add(-20*time.Minute), nil), 0, "SignatureDoesNotMatch|RequestExpired"},
		{"unserved service", signed("POST", "/", form("Action=ListBuckets"), "s3", now, nil), 400, "InvalidAction"},
		{"incomplete signature", func() *http.Request {
			r, _ := http.NewRequest("POST", s.Endpoint+"/", strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+akid+"/20260101/us-east-1/sts/aws4_request")
			return r
		}(), 0, "IncompleteSignature"},
		{"json unknown target", signed("POST", "/", []byte("{}"), "sts", now, map[string]string{"X-Amz-Target": "Nope.Nothing"}), 0, "InvalidAction|MissingAction|UnknownOperationException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.DefaultClient.Do(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if tc.wantStatus != 0 && resp.StatusCode != tc.wantStatus {
				t.Errorf("status = %d, want %d; body %s", resp.StatusCode, tc.wantStatus, body)
			}
			if resp.Header.Get("X-Amzn-Requestid") == "" {
				t.Error("no x-amzn-RequestId header")
			}
			if tc.wantCode == "" {
				return
			}
			ok := false
			for _, code := range strings.Split(tc.wantCode, "|") {
				if bytes.Contains(body, []byte("<Code>"+code+"</Code>")) || bytes.Contains(body, []byte(`"`+code+`"`)) {
					ok = true
				}
			}
			if !ok {
				t.Errorf("body %s; want code %s", body, tc.wantCode)
			}
		})
	}
}

// TestBodyLimit checks that a body over the limit is refused from its
// Content-Length, before the server reads it.
func TestBodyLimit(t *testing.T) {
	s := startServer(t, nil, "--max-body-bytes", "4096")
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.Endpoint, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Announce 100 MB and send none of it: the answer must come anyway.
	_, _ = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000000\r\n\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufioReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to an oversized body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 413 || !bytes.Contains(body, []byte("RequestEntityTooLarge")) {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
}

// TestOperationalEndpoints checks /healthz, /readyz and /metrics.
func TestOperationalEndpoints(t *testing.T) {
	s := startServer(t, nil)
	if code, body := httpGet(t, s.Endpoint+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	if code, _ := httpGet(t, s.Endpoint+"/readyz"); code != 200 {
		t.Fatalf("/readyz: %d", code)
	}
	res := awsCLI(t, s, profileEnv(s.DataDir), "sts", "get-caller-identity")
	if res.Code != 0 {
		t.Fatal(res.Stderr)
	}
	_, metrics := httpGet(t, s.Endpoint+"/metrics")
	for _, want := range []string{
		`bulwark_api_requests_total{action="GetCallerIdentity",outcome="ok",service="sts"} 1`,
		`bulwark_api_request_duration_seconds_bucket{action="GetCallerIdentity",service="sts"`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestGracefulShutdown starts a request, sends SIGTERM while its body is
// still arriving, and checks the request completes and the process exits 0.
func TestGracefulShutdown(t *testing.T) {
	s := startServer(t, nil)
	akid, secret := rootCredentials(t, s.DataDir)
	body := []byte("Action=GetCallerIdentity&Version=2011-06-15")
	req, _ := http.NewRequest("POST", s.Endpoint+"/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := sigv4.Sign(req, body, akid, []byte(secret), "", "us-east-1", "sts", time.Now()); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.Endpoint, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Headers only: the body is sent after SIGTERM.
	var head bytes.Buffer
	head.WriteString("POST / HTTP/1.1\r\nHost: " + req.Host + "\r\n")
	head.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	for k, vs := range req.Header {
		for _, v := range vs {
			head.WriteString(k + ": " + v + "\r\n")
		}
	}
	head.WriteString("\r\n")
	if _, err := conn.Write(head.Bytes()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	stopped := make(chan error, 1)
	go func() { stopped <- s.stop() }()
	time.Sleep(300 * time.Millisecond)
	if _, err := conn.Write(body); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufioReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request dropped: %v", err)
	}
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Contains(out, []byte(":root</Arn>")) {
		t.Fatalf("in-flight request: %d %s", resp.StatusCode, out)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("exit: %v\n%s", err, s.logs.String())
	}
}

// TestRefusesInsecureListen checks the server refuses a non-loopback
// address without TLS unless --insecure-http is given.
func TestRefusesInsecureListen(t *testing.T) {
	_, err := tryStartServer(t, nil, "--listen", "0.0.0.0:0")
	if err == nil || !strings.Contains(err.Error(), "without TLS") {
		t.Fatalf("err = %v, want a refusal", err)
	}
}
