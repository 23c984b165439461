package audit

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// syslogCollector accepts connections and returns every octet-counted
// frame it reads.
func syslogCollector(t *testing.T, ln net.Listener) <-chan string {
	t.Helper()
	frames := make(chan string, 100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					n, err := r.ReadString(' ')
					if err != nil {
						return
					}
					size, err := strconv.Atoi(strings.TrimSuffix(n, " "))
					if err != nil {
						frames <- "BAD FRAME " + n
						return
					}
					msg := make([]byte, size)
					if _, err := io.ReadFull(r, msg); err != nil {
						return
					}
					frames <- string(msg)
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return frames
}

var rfc5424 = regexp.MustCompile(`^<110>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z (\S+) bulwark \d+ audit - (\{.*\})$`)

func checkFrames(t *testing.T, frames <-chan string, want ...string) {
	t.Helper()
	for _, w := range want {
		select {
		case f := <-frames:
			m := rfc5424.FindStringSubmatch(f)
			if m == nil || m[1] != "host-1" || m[2] != w || !json.Valid([]byte(m[2])) {
				t.Fatalf("frame %q, want an RFC 5424 message carrying %s", f, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no frame for %s", w)
		}
	}
}

func TestSyslogTCPReconnects(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	frames := syslogCollector(t, ln)
	d, err := ParseSyslogURL("tcp://"+ln.Addr().String(), "")
	if err != nil {
		t.Fatal(err)
	}
	d.Hostname = "host-1"
	defer d.Close()
	ctx := context.Background()
	if err := d.Deliver(ctx, [][]byte{[]byte(`{"a":1}`), []byte(`{"b":"x y\u2028"}`)}); err != nil {
		t.Fatal(err)
	}
	checkFrames(t, frames, `{"a":1}`, `{"b":"x y\u2028"}`)
	// The collector drops the connection: a delivery fails or is lost in
	// the socket buffer, and the next one reconnects.
	d.conn.(*net.TCPConn).CloseRead()
	d.conn.Close()
	if err := d.Deliver(ctx, [][]byte{[]byte(`{"c":2}`)}); err == nil {
		t.Fatal("delivery on a closed connection succeeded")
	}
	if err := d.Deliver(ctx, [][]byte{[]byte(`{"c":2}`)}); err != nil {
		t.Fatalf("no reconnect: %v", err)
	}
	checkFrames(t, frames, `{"c":2}`)
}

func TestSyslogTLS(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "collector"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	frames := syslogCollector(t, ln)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	// Without the CA the collector is not trusted.
	untrusted, _ := ParseSyslogURL("tls://"+ln.Addr().String(), "")
	if err := untrusted.Deliver(context.Background(), [][]byte{[]byte(`{}`)}); err == nil {
		t.Fatal("an untrusted TLS collector was accepted")
	}
	d, err := ParseSyslogURL("tls://"+ln.Addr().String(), ca)
	if err != nil {
		t.Fatal(err)
	}
	d.Hostname = "host-1"
	defer d.Close()
	if err := d.Deliver(context.Background(), [][]byte{[]byte(`{"tls":true}`)}); err != nil {
		t.Fatal(err)
	}
	checkFrames(t, frames, `{"tls":true}`)
}

func TestParseSyslogURL(t *testing.T) {
	for _, bad := range []string{"udp://h:514", "tcp://h", "tcp://:514x", "http://h:514", "tcp://u@h:514", "tcp://h:514/x", "tcp://h:514?a=b", "::"} {
		if _, err := ParseSyslogURL(bad, ""); err == nil {
			t.Errorf("ParseSyslogURL(%q) accepted", bad)
		}
	}
	if _, err := ParseSyslogURL("tcp://h:514", "ca.pem"); err == nil {
		t.Error("a CA for plain TCP accepted")
	}
	if d, err := ParseSyslogURL("tls://logs.example:6514", ""); err != nil || d.Network != "tls" || d.Addr != "logs.example:6514" {
		t.Errorf("tls URL: %+v %v", d, err)
	}
	if h := (&SyslogDestination{Hostname: "a b"}).hostname(); h != "-" {
		t.Errorf("hostname with a space = %q", h)
	}
}
