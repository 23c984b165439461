package audit

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"
)

// SyslogDestination sends each record as one RFC 5424 message (facility
// "log audit", severity informational, APP-NAME bulwark, MSGID audit, the
// CloudTrail JSON as MSG) over TCP or TLS, framed by octet counting (RFC
// 6587 section 3.4.1; RFC 5425 for TLS), as rsyslog, syslog-ng and SIEM
// collectors accept. There is no UDP: it loses records silently and a
// record may not fit a datagram. Delivery is at least once: a batch cut
// short by a broken connection is sent again whole.
type SyslogDestination struct {
	// Network is "tcp" or "tls"; Addr is host:port.
	Network, Addr string
	// TLS configures "tls" (nil: the system's roots, the server name from
	// Addr).
	TLS *tls.Config
	// Hostname is the HOSTNAME field; empty means the machine's name.
	Hostname string

	conn net.Conn
}

// syslogPRI is <facility 13 (log audit) * 8 + severity 6 (informational)>.
const syslogPRI = "<110>"

// ParseSyslogURL reads "tcp://host:port" or "tls://host:port"; caFile, if
// not empty, is a PEM bundle the TLS server's certificate must chain to
// (instead of the system's roots).
func ParseSyslogURL(raw, caFile string) (*SyslogDestination, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("audit syslog URL: %w", err)
	}
	if (u.Scheme != "tcp" && u.Scheme != "tls") || u.Host == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("audit syslog URL %q: want tcp://host:port or tls://host:port", raw)
	}
	d := &SyslogDestination{Network: u.Scheme, Addr: u.Host}
	if caFile != "" {
		if u.Scheme != "tls" {
			return nil, errors.New("audit syslog CA: only for a tls:// URL")
		}
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("audit syslog CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("audit syslog CA %s: no PEM certificate", caFile)
		}
		d.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return d, nil
}

// Deliver implements Destination.
func (d *SyslogDestination) Deliver(ctx context.Context, lines [][]byte) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if d.conn == nil {
		if err := d.dial(ctx); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	host, pid := d.hostname(), strconv.Itoa(os.Getpid())
	for _, l := range lines {
		msg := appendSyslog(nil, time.Now(), host, pid, l)
		buf.WriteString(strconv.Itoa(len(msg)))
		buf.WriteByte(' ')
		buf.Write(msg)
	}
	deadline, _ := ctx.Deadline()
	_ = d.conn.SetWriteDeadline(deadline)
	if _, err := d.conn.Write(buf.Bytes()); err != nil {
		d.conn.Close()
		d.conn = nil
		return fmt.Errorf("audit syslog %s: %w", d.Addr, err)
	}
	return nil
}

func (d *SyslogDestination) dial(ctx context.Context) error {
	var nd net.Dialer
	var err error
	if d.Network == "tls" {
		cfg := d.TLS
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		td := tls.Dialer{NetDialer: &nd, Config: cfg}
		d.conn, err = td.DialContext(ctx, "tcp", d.Addr)
	} else {
		d.conn, err = nd.DialContext(ctx, "tcp", d.Addr)
	}
	if err != nil {
		d.conn = nil
		return fmt.Errorf("audit syslog %s: %w", d.Addr, err)
	}
	return nil
}

// hostname is the HOSTNAME field: printable ASCII without spaces, at most
// 255 characters, "-" when unknown (RFC 5424 section 6.2.4).
func (d *SyslogDestination) hostname() string {
	h := d.Hostname
	if h == "" {
		h, _ = os.Hostname()
	}
	if len(h) > 255 {
		h = h[:255]
	}
	for i := 0; i < len(h); i++ {
		if h[i] <= ' ' || h[i] > '~' {
			return "-"
		}
	}
	if h == "" {
		return "-"
	}
	return h
}

// appendSyslog appends one RFC 5424 message: PRI, VERSION, TIMESTAMP,
// HOSTNAME, APP-NAME, PROCID, MSGID, no STRUCTURED-DATA, the record as MSG.
func appendSyslog(b []byte, now time.Time, host, pid string, record []byte) []byte {
	b = append(b, syslogPRI+"1 "...)
	b = now.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	b = append(b, ' ')
	b = append(b, host...)
	b = append(b, " bulwark "...)
	b = append(b, pid...)
	b = append(b, " audit - "...)
	return append(b, record...)
}

// Close implements Destination.
func (d *SyslogDestination) Close() error {
	if d.conn == nil {
		return nil
	}
	err := d.conn.Close()
	d.conn = nil
	return err
}
