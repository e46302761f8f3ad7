// Package notify tells a team how a run ended, where the team works: WeCom
// (企业微信), DingTalk (钉钉) and Feishu (飞书) group robots, a generic
// webhook that receives the run's summary as JSON, and email over SMTP.
//
// Each [[notify]] table of the config file is a Config; New checks it and
// returns a Destination whose Send renders a crmsync.Notice in the run's
// language and delivers it, retrying transient failures (HTTP 5xx and 429,
// timeouts, refused connections, SMTP 4xx) with backoff. Config.Wants says
// whether a run with a given exit code is to be notified at all.
//
// A notice holds counts, causes, run IDs and paths only, never a row's
// values. Robot URLs carry secret keys, so a Config's URL, secret and SMTP
// password never appear in its printed forms or in an error: errors name the
// destination by its name or type and the URL by its host.
//
// The chat robots are three JSON POSTs, so they are a small client of this
// package over net/http rather than a vendor SDK: the Go packages for them
// cover one vendor each, build their own HTTP clients without a context or
// retries, and some print the URL in their errors. Email goes through
// github.com/wneessen/go-mail.
package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync"
)

// Destination is one configured place to notify. Its exported fields may be
// changed before the first Send (tests shorten the backoff, point TLS at a
// test CA); it is safe for concurrent use afterwards.
type Destination struct {
	Config Config

	// HTTP is the client for robots and webhooks (default: one with
	// Timeout per request).
	HTTP *http.Client
	// TLS is the TLS configuration for SMTP (default: the system roots,
	// server name smtp_host).
	TLS *tls.Config
	// Timeout bounds one attempt (default 15 s).
	Timeout time.Duration
	// Attempts is how many times a transient failure is tried (default 4).
	Attempts int
	// Backoff is the wait before the second attempt; it doubles after
	// each, with jitter, up to 30 s (default 1 s). Retry-After is honoured
	// up to 30 s.
	Backoff time.Duration
	// Now is the clock for signatures and the mail's date (default time.Now).
	Now func() time.Time

	password string
	redact   *strings.Replacer
	mu       sync.Mutex
	rand     *rand.Rand
}

var _ crmsync.Notifier = (*Destination)(nil)

// New checks c and returns its destination. An error is a *FieldError
// naming the key at fault (never its value), or the password file's read
// error.
func New(c Config) (*Destination, error) {
	c.Type = strings.ToLower(strings.TrimSpace(c.Type))
	c.On = strings.ToLower(strings.TrimSpace(c.On))
	c.TLS = strings.ToLower(strings.TrimSpace(c.TLS))
	c.URL = strings.TrimSpace(c.URL)
	if err := c.check(); err != nil {
		return nil, err
	}
	d := &Destination{Config: c, rand: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x6e6f74696679))}
	if c.PasswordFile != "" {
		pw, err := readPassword(c.PasswordFile)
		if err != nil {
			return nil, err
		}
		d.password = pw
	}
	d.redact = redactor(c, d.password)
	return d, nil
}

// NewAll checks every [[notify]] table; an error names the table by its
// index, e.g. "notify[1]: url: has no key= parameter …".
func NewAll(cs []Config) ([]*Destination, error) {
	ds := make([]*Destination, 0, len(cs))
	for i, c := range cs {
		d, err := New(c)
		if err != nil {
			return nil, fmt.Errorf("notify[%d]: %w", i, err)
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// Name is the destination's label in logs: its name, else its type.
func (d *Destination) Name() string { return d.Config.label() }

// Wants reports whether a run that ended with exitCode is to be notified here.
func (d *Destination) Wants(exitCode int) bool { return d.Config.Wants(exitCode) }

// String is the destination's masked config.
func (d *Destination) String() string { return d.Config.String() }

// Send renders n and delivers it, trying a transient failure up to Attempts
// times. The error is an *Error. Send never panics on a bad answer.
func (d *Destination) Send(ctx context.Context, n crmsync.Notice) (err error) {
	if d == nil || d.redact == nil {
		return errors.New("notify: destination not made by notify.New")
	}
	defer func() {
		if r := recover(); r != nil {
			err = &Error{Dest: d.Name(), Host: d.host(), Message: "internal error (a bug in crmsync's notify package)"}
		}
	}()
	switch d.Config.Type {
	case TypeWeCom:
		return d.sendRobot(ctx, n, d.wecomBody, checkErrcode)
	case TypeDingTalk:
		return d.sendRobot(ctx, n, d.dingtalkBody, checkErrcode)
	case TypeFeishu:
		return d.sendRobot(ctx, n, d.feishuBody, checkFeishu)
	case TypeWebhook:
		return d.sendRobot(ctx, n, d.webhookBody, nil)
	case TypeEmail:
		return d.sendEmail(ctx, n)
	}
	return d.fail(0, fmt.Errorf("unknown type %q", d.Config.Type))
}

// Error is a notification that did not go through.
type Error struct {
	Dest       string // the destination's name or type
	Host       string // the robot's or SMTP server's host (never the URL's key)
	Attempts   int    // attempts made
	HTTPStatus int    // the last HTTP status, 0 when none
	Code       int    // the robot's non-zero errcode / code, 0 when none
	Message    string // the robot's errmsg / msg, or the SMTP server's answer
	Err        error  // the cause, with secrets removed
	temporary  bool
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "notify %s", e.Dest)
	if e.Host != "" {
		fmt.Fprintf(&b, " (%s)", e.Host)
	}
	b.WriteString(": ")
	switch {
	case e.Code != 0:
		fmt.Fprintf(&b, "robot answered code %d: %s", e.Code, e.Message)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	case e.HTTPStatus != 0:
		fmt.Fprintf(&b, "HTTP %d %s", e.HTTPStatus, e.Message)
	default:
		b.WriteString(e.Message)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether trying again later may help (a 5xx, 429,
// timeout or unreachable server), as opposed to a refused key or signature.
func (e *Error) Temporary() bool { return e.temporary }

// fail builds the error of a failed Send, with secrets removed.
func (d *Destination) fail(attempts int, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Attempts = attempts
		return &c
	}
	return &Error{Dest: d.Name(), Host: d.host(), Attempts: attempts, Err: d.clean(err)}
}

func (d *Destination) host() string {
	if d.Config.Type == TypeEmail {
		return d.Config.SMTPHost + ":" + strconv.Itoa(d.Config.port())
	}
	h := safeURL(d.Config.URL)
	h = strings.TrimSuffix(h, "/***")
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
	}
	return h
}

// retry runs try up to Attempts times while its error is temporary,
// waiting with exponential backoff and jitter (or Retry-After) between.
func (d *Destination) retry(ctx context.Context, try func(ctx context.Context) (*Error, time.Duration)) error {
	attempts := d.Attempts
	if attempts <= 0 {
		attempts = 4
	}
	wait := d.Backoff
	if wait <= 0 {
		wait = time.Second
	}
	const maxWait = 30 * time.Second
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	var last *Error
	for i := 1; i <= attempts; i++ {
		actx, cancel := context.WithTimeout(ctx, timeout)
		e, after := try(actx)
		cancel()
		if e == nil {
			return nil
		}
		e.Attempts = i
		last = e
		if !e.temporary || i == attempts || ctx.Err() != nil {
			break
		}
		sleep := wait + time.Duration(d.jitter(int64(wait/2)))
		if after > 0 {
			sleep = min(after, maxWait)
		}
		wait = min(2*wait, maxWait)
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return last
		case <-t.C:
		}
	}
	return last
}

func (d *Destination) jitter(n int64) int64 {
	if n <= 0 {
		return 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rand.Int64N(n)
}

func (d *Destination) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// redactor replaces every secret of c: the URL whole, its query values and
// path segments (Feishu's token is in the path), the secret and the password.
func redactor(c Config, password string) *strings.Replacer {
	var olds []string
	add := func(s string) {
		if len(s) >= 4 {
			olds = append(olds, s, masked)
		}
	}
	add(c.URL)
	if u, err := parseURL(c.URL); err == nil {
		add(u.RawQuery)
		for _, vs := range u.Query() {
			for _, v := range vs {
				add(v)
			}
		}
		for _, seg := range strings.Split(u.Path, "/") {
			if len(seg) >= 16 {
				add(seg)
			}
		}
	}
	add(c.Secret)
	add(password)
	return strings.NewReplacer(olds...)
}

// clean returns err with every secret of the destination replaced, the
// *url.Error's URL included (net/http puts the whole URL there).
func (d *Destination) clean(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = ue.Op + " " + safeURL(ue.URL) + ": " + ue.Err.Error()
	}
	return &cleanError{msg: d.redact.Replace(msg), err: unwrapURL(err)}
}

// cleanError is an error whose text has had its secrets removed; it
// unwraps to the cause below any *url.Error, so errors.Is(err,
// context.DeadlineExceeded) still works without exposing the URL.
type cleanError struct {
	msg string
	err error
}

func (e *cleanError) Error() string { return e.msg }
func (e *cleanError) Unwrap() error { return e.err }
