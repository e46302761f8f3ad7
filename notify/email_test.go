package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// smtpServer is a local SMTP server (github.com/emersion/go-smtp) that
// offers STARTTLS, or speaks TLS from the start, and AUTH PLAIN; it keeps
// every message it accepts.
type smtpServer struct {
	addr string
	pool *x509.CertPool

	mu        sync.Mutex
	user      string
	pass      string
	logins    int      // AUTH attempts
	dataCalls int      // DATA commands
	dataFail  []error  // answers to the first DATA commands
	got       []mailIn // messages accepted
}

type mailIn struct {
	From string
	To   []string
	Data []byte
	TLS  bool
	User string
}

// testCert is httptest's certificate for 127.0.0.1 and its pool.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	ts := httptest.NewTLSServer(nil)
	defer ts.Close()
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	return ts.TLS.Certificates[0], pool
}

// newSMTP starts a server; mode is TLSStartTLS, TLSImplicit or TLSNone.
func newSMTP(t *testing.T, mode string) *smtpServer {
	t.Helper()
	cert, pool := testCert(t)
	s := &smtpServer{pool: pool, user: "crmsync@example.com", pass: secretPasswd}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &smtpSession{s: s, tls: isTLS, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.MaxMessageBytes = 32 << 20
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}}
	switch mode {
	case TLSStartTLS:
		srv.TLSConfig = tc
	case TLSImplicit:
		l = tls.NewListener(l, tc)
	}
	s.addr = l.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return s
}

func (s *smtpServer) port(t *testing.T) int {
	_, p, _ := net.SplitHostPort(s.addr)
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// count reads one of s's counters.
func (s *smtpServer) count(n *int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *n
}

func (s *smtpServer) messages() []mailIn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mailIn(nil), s.got...)
}

type smtpSession struct {
	s    *smtpServer
	conn *smtp.Conn
	tls  bool
	user string
	from string
	to   []string
}

func (ss *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		ss.s.mu.Lock()
		defer ss.s.mu.Unlock()
		ss.s.logins++
		if username != ss.s.user || password != ss.s.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := ss.conn.TLSConnectionState()
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	i := ss.s.dataCalls
	ss.s.dataCalls++
	if i < len(ss.s.dataFail) {
		return ss.s.dataFail[i]
	}
	ss.s.got = append(ss.s.got, mailIn{ss.from, ss.to, b, isTLS, ss.user})
	return nil
}

func (ss *smtpSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *smtpSession) Logout() error { return nil }

// emailDest is an email destination for s, logging in unless mode is none.
func emailDest(t *testing.T, s *smtpServer, mode string, mutate func(*Config)) *Destination {
	t.Helper()
	c := Config{Type: "email", SMTPHost: "127.0.0.1", SMTPPort: s.port(t), TLS: mode,
		From: "crmsync <crmsync@example.com>", To: []string{"ops@example.com", "finance@example.com"}}
	if mode != TLSNone {
		pw := filepath.Join(t.TempDir(), "smtp-password")
		if err := os.WriteFile(pw, []byte(secretPasswd+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c.Username, c.PasswordFile = "crmsync@example.com", pw
	}
	if mutate != nil {
		mutate(&c)
	}
	d := newDest(t, c)
	d.TLS = &tls.Config{RootCAs: s.pool}
	return d
}

// parsed is a received mail taken apart.
type parsed struct {
	From, To, Subject string
	Text              string
	Attachments       map[string][]byte // file name → content
}

func parseMail(t *testing.T, data []byte) parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("received mail does not parse: %v\n%s", err, data)
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	p := parsed{From: m.Header.Get("From"), To: m.Header.Get("To"), Subject: subject, Attachments: map[string][]byte{}}
	var walk func(h map[string][]string, body io.Reader)
	walk = func(h map[string][]string, body io.Reader) {
		header := func(k string) string {
			if v := h[k]; len(v) > 0 {
				return v[0]
			}
			return ""
		}
		mt, params, err := mime.ParseMediaType(header("Content-Type"))
		if err != nil {
			t.Fatalf("Content-Type %q: %v", header("Content-Type"), err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				part, err := mr.NextRawPart()
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				walk(part.Header, part)
			}
		}
		var r io.Reader = body
		switch strings.ToLower(header("Content-Transfer-Encoding")) {
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, body)
		case "quoted-printable":
			r = quotedprintable.NewReader(body)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		_, dp, _ := mime.ParseMediaType(header("Content-Disposition"))
		if name := dp["filename"]; name != "" {
			p.Attachments[name] = b
		} else if mt == "text/plain" {
			p.Text += string(b)
		}
	}
	walk(m.Header, m.Body)
	return p
}

func TestEmail(t *testing.T) {
	workbook := bytes.Repeat([]byte("PK\x03\x04 not really a workbook \x00\xff"), 2000)
	for _, mode := range []string{TLSStartTLS, TLSImplicit, TLSNone} {
		t.Run(mode, func(t *testing.T) {
			s := newSMTP(t, mode)
			d := emailDest(t, s, mode, nil)
			n := sampleNotice("zh")
			n.Problems = filepath.Join(t.TempDir(), "2026-12-01_run-42-problems.xlsx")
			if err := os.WriteFile(n.Problems, workbook, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := d.Send(context.Background(), n); err != nil {
				t.Fatalf("Send = %v", err)
			}
			got := s.messages()
			if len(got) != 1 {
				t.Fatalf("server got %d messages, want 1", len(got))
			}
			in := got[0]
			if in.From != "crmsync@example.com" || strings.Join(in.To, ",") != "ops@example.com,finance@example.com" {
				t.Errorf("envelope from %q to %q", in.From, in.To)
			}
			if wantTLS := mode != TLSNone; in.TLS != wantTLS {
				t.Errorf("mail went over TLS %v, want %v", in.TLS, wantTLS)
			}
			if wantUser := map[bool]string{true: "", false: "crmsync@example.com"}[mode == TLSNone]; in.User != wantUser {
				t.Errorf("logged in as %q, want %q", in.User, wantUser)
			}
			p := parseMail(t, in.Data)
			if !strings.Contains(p.From, "crmsync@example.com") || !strings.Contains(p.To, "ops@example.com") || !strings.Contains(p.To, "finance@example.com") {
				t.Errorf("From %q, To %q", p.From, p.To)
			}
			if want := title(n); p.Subject != want {
				t.Errorf("Subject = %q, want %q", p.Subject, want)
			}
			for _, want := range []string{"有行需要人工处理(退出码 3)", "已发送 1200", "手机号不是11位数字 × 5", "问题工作簿已附上"} {
				if !strings.Contains(p.Text, want) {
					t.Errorf("body lacks %q:\n%s", want, p.Text)
				}
			}
			if a, ok := p.Attachments["2026-12-01_run-42-problems.xlsx"]; !ok || !bytes.Equal(a, workbook) {
				t.Errorf("attachment: present %v, same bytes %v (attachments %d)", ok, bytes.Equal(a, workbook), len(p.Attachments))
			}
			noSecret(t, "mail", string(in.Data))
		})
	}
}

func TestEmailWithoutAttachment(t *testing.T) {
	s := newSMTP(t, TLSStartTLS)
	n := sampleNotice("en")
	n.Problems = filepath.Join(t.TempDir(), "missing-problems.xlsx")
	if err := emailDest(t, s, TLSStartTLS, nil).Send(context.Background(), n); err != nil {
		t.Fatalf("Send = %v", err)
	}
	written := filepath.Join(t.TempDir(), "p.xlsx")
	if err := os.WriteFile(written, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	n.Problems = written
	if err := emailDest(t, s, TLSStartTLS, func(c *Config) { c.Attach = new(bool) }).Send(context.Background(), n); err != nil {
		t.Fatalf("Send = %v", err)
	}
	got := s.messages()
	if len(got) != 2 {
		t.Fatalf("server got %d messages, want 2", len(got))
	}
	p := parseMail(t, got[0].Data)
	if len(p.Attachments) != 0 || !strings.Contains(p.Text, "not attached (cannot be read)") {
		t.Errorf("missing workbook: %d attachments, body:\n%s", len(p.Attachments), p.Text)
	}
	if p := parseMail(t, got[1].Data); len(p.Attachments) != 0 {
		t.Errorf("attach = false: %d attachments", len(p.Attachments))
	}
}

func TestEmailFailures(t *testing.T) {
	t.Run("4xx retried", func(t *testing.T) {
		s := newSMTP(t, TLSStartTLS)
		s.dataFail = []error{&smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}}
		if err := emailDest(t, s, TLSStartTLS, nil).Send(context.Background(), sampleNotice("zh")); err != nil {
			t.Fatalf("Send = %v, want success on the second attempt", err)
		}
		if n, calls := len(s.messages()), s.count(&s.dataCalls); n != 1 || calls != 2 {
			t.Errorf("server: %d messages after %d DATA, want 1 after 2", n, calls)
		}
	})
	t.Run("5xx not retried", func(t *testing.T) {
		s := newSMTP(t, TLSStartTLS)
		s.dataFail = []error{&smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "message refused"}}
		err := emailDest(t, s, TLSStartTLS, nil).Send(context.Background(), sampleNotice("zh"))
		var e *Error
		if !errors.As(err, &e) || e.Temporary() || e.Attempts != 1 {
			t.Fatalf("Send = %v, want a permanent *Error after 1 attempt", err)
		}
		if !strings.Contains(err.Error(), "message refused") {
			t.Errorf("error %q does not give the server's answer", err)
		}
		noSecret(t, "error", err.Error())
	})
	t.Run("login refused", func(t *testing.T) {
		s := newSMTP(t, TLSStartTLS)
		s.pass = "another password"
		err := emailDest(t, s, TLSStartTLS, nil).Send(context.Background(), sampleNotice("zh"))
		var e *Error
		if !errors.As(err, &e) || e.Temporary() {
			t.Fatalf("Send = %v, want a permanent *Error", err)
		}
		if n := s.count(&s.logins); n != 1 {
			t.Errorf("server saw %d logins, want 1 (a refused password is not retried)", n)
		}
		if !strings.Contains(err.Error(), "127.0.0.1:") {
			t.Errorf("error %q does not name the server", err)
		}
		noSecret(t, "error", err.Error())
	})
	t.Run("server down", func(t *testing.T) {
		s := newSMTP(t, TLSStartTLS)
		d := emailDest(t, s, TLSStartTLS, nil)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		d.Config.SMTPPort = l.Addr().(*net.TCPAddr).Port
		l.Close() // nothing listens there now
		d.Attempts = 2
		err = d.Send(context.Background(), sampleNotice("zh"))
		var e *Error
		if !errors.As(err, &e) || !e.Temporary() || e.Attempts != 2 {
			t.Fatalf("Send = %v, want a temporary *Error after 2 attempts", err)
		}
		noSecret(t, "error", err.Error())
	})
	t.Run("certificate not trusted", func(t *testing.T) {
		s := newSMTP(t, TLSStartTLS)
		d := emailDest(t, s, TLSStartTLS, nil)
		d.TLS = nil // the system roots do not know the test CA
		err := d.Send(context.Background(), sampleNotice("zh"))
		var e *Error
		if !errors.As(err, &e) || e.Temporary() || e.Attempts != 1 {
			t.Fatalf("Send = %v, want a permanent *Error after 1 attempt: the server's certificate is not trusted", err)
		}
		if len(s.messages()) != 0 {
			t.Errorf("mail delivered over an untrusted connection")
		}
		noSecret(t, "error", err.Error())
	})
}
