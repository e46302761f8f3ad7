package notify

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"os"
	"strings"
)

// Destination types, as written in a [[notify]] table's type key.
const (
	TypeWeCom    = "wecom"
	TypeDingTalk = "dingtalk"
	TypeFeishu   = "feishu"
	TypeWebhook  = "webhook"
	TypeEmail    = "email"
)

// When to notify, as written in a [[notify]] table's on key.
const (
	OnAlways   = "always"   // every run
	OnProblems = "problems" // runs that failed (exit 1) or have rows for a person (exit 3); the default
	OnFailure  = "failure"  // runs that failed (exit 1)
)

// TLS modes of an email destination, as written in its tls key.
const (
	TLSStartTLS = "starttls" // STARTTLS required (the default, port 587)
	TLSImplicit = "tls"      // TLS from the first byte (the default on port 465)
	TLSNone     = "none"     // plain SMTP, for a local relay only; no login allowed
)

// Config is one [[notify]] table of the config file. Its URL (robots carry
// their key in it), Secret and the password never appear in its printed
// forms (String, GoString, LogValue, MarshalJSON) or in any error.
//
//	[[notify]]
//	type = "wecom"        # wecom, dingtalk, feishu, webhook, email
//	url  = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"
//	on   = "problems"     # always | problems (exit 1 or 3, the default) | failure (exit 1 only)
//	secret = "…"          # dingtalk and feishu robots with signing turned on
//
//	[[notify]]
//	type = "email"
//	smtp_host = "smtp.example.com"
//	smtp_port = 587                  # default 587; 465 for tls; 25 for none
//	tls = "starttls"                 # starttls (default; tls on port 465) | tls | none (local relay)
//	username = "crmsync@example.com"
//	password_file = "/etc/crmsync/smtp-password"
//	from = "crmsync@example.com"
//	to = ["ops@example.com"]
//	attach = true                    # attach the problems workbook (it holds the rows: member data)
type Config struct {
	Type   string `toml:"type" json:"type"`
	Name   string `toml:"name" json:"name,omitempty"` // optional label in errors and logs; default the type
	URL    string `toml:"url" json:"url,omitempty"`
	On     string `toml:"on" json:"on,omitempty"`
	Secret string `toml:"secret" json:"secret,omitempty"`

	SMTPHost     string   `toml:"smtp_host" json:"smtp_host,omitempty"`
	SMTPPort     int      `toml:"smtp_port" json:"smtp_port,omitempty"`
	TLS          string   `toml:"tls" json:"tls,omitempty"`
	Username     string   `toml:"username" json:"username,omitempty"`
	PasswordFile string   `toml:"password_file" json:"password_file,omitempty"`
	From         string   `toml:"from" json:"from,omitempty"`
	To           []string `toml:"to" json:"to,omitempty"`
	Attach       *bool    `toml:"attach" json:"attach,omitempty"`
}

// FieldError is a mistake in a [[notify]] table: the key and what is wrong,
// never the value (a URL or secret would leak into logs).
type FieldError struct {
	Field   string // the TOML key, e.g. "url"
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

func fieldErr(field, format string, a ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, a...)}
}

// label is the destination's name in errors and logs.
func (c Config) label() string {
	if c.Name != "" {
		return c.Name
	}
	if c.Type != "" {
		return c.Type
	}
	return "notify"
}

// Wants reports whether a run that ended with exitCode is to be notified
// here. An unknown or empty on means "problems".
func (c Config) Wants(exitCode int) bool {
	switch strings.ToLower(strings.TrimSpace(c.On)) {
	case OnAlways:
		return true
	case OnFailure:
		return exitCode == 1
	default:
		return exitCode == 1 || exitCode == 3
	}
}

// check validates c. Errors name the field, never its value.
func (c Config) check() error {
	switch c.On {
	case "", OnAlways, OnProblems, OnFailure:
	default:
		return fieldErr("on", `want "always", "problems" or "failure"`)
	}
	switch c.Type {
	case TypeWeCom, TypeDingTalk, TypeFeishu, TypeWebhook:
		if err := checkURL(c.Type, c.URL); err != nil {
			return err
		}
		if c.Secret != "" && c.Type != TypeDingTalk && c.Type != TypeFeishu {
			return fieldErr("secret", "only dingtalk and feishu robots sign their messages; remove it")
		}
		for _, f := range []struct {
			key string
			set bool
		}{
			{"smtp_host", c.SMTPHost != ""}, {"smtp_port", c.SMTPPort != 0}, {"tls", c.TLS != ""},
			{"username", c.Username != ""}, {"password_file", c.PasswordFile != ""},
			{"from", c.From != ""}, {"to", len(c.To) > 0}, {"attach", c.Attach != nil},
		} {
			if f.set {
				return fieldErr(f.key, "is for type = \"email\" only; remove it")
			}
		}
	case TypeEmail:
		return c.checkEmail()
	case "":
		return fieldErr("type", "missing: want wecom, dingtalk, feishu, webhook or email")
	default:
		return fieldErr("type", "unknown: want wecom, dingtalk, feishu, webhook or email")
	}
	return nil
}

// checkURL checks a robot's or webhook's address without ever quoting it
// (url.Parse's own errors do).
func checkURL(typ, s string) error {
	if s == "" {
		return fieldErr("url", "missing: copy the robot's webhook address")
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fieldErr("url", "not an http(s) address: copy the robot's whole webhook address")
	}
	q := u.Query()
	switch typ {
	case TypeWeCom:
		if q.Get("key") == "" {
			return fieldErr("url", "has no key= parameter: copy the robot's whole webhook address")
		}
	case TypeDingTalk:
		if q.Get("access_token") == "" {
			return fieldErr("url", "has no access_token= parameter: copy the robot's whole webhook address")
		}
		if q.Has("timestamp") || q.Has("sign") {
			return fieldErr("url", "holds timestamp or sign: crmsync signs each message itself when secret is set; remove them")
		}
	case TypeFeishu:
		if !strings.Contains(u.Path, "/hook/") || strings.HasSuffix(u.Path, "/hook/") {
			return fieldErr("url", "has no /hook/… token: copy the robot's whole webhook address")
		}
	}
	return nil
}

func (c Config) checkEmail() error {
	if c.URL != "" {
		return fieldErr("url", "is not for type = \"email\": use smtp_host")
	}
	if c.Secret != "" {
		return fieldErr("secret", "is not for type = \"email\": use password_file")
	}
	if c.SMTPHost == "" {
		return fieldErr("smtp_host", "missing: the SMTP server's host name")
	}
	if strings.ContainsAny(c.SMTPHost, ":/ ") {
		return fieldErr("smtp_host", "want a host name only; put the port in smtp_port")
	}
	if c.SMTPPort < 0 || c.SMTPPort > 65535 {
		return fieldErr("smtp_port", "want a port number from 1 to 65535")
	}
	switch c.TLS {
	case "", TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return fieldErr("tls", `want "starttls", "tls" or "none"`)
	}
	if (c.Username == "") != (c.PasswordFile == "") {
		if c.Username == "" {
			return fieldErr("username", "missing: password_file is set")
		}
		return fieldErr("password_file", "missing: username is set (a file holding the SMTP password)")
	}
	if c.Username != "" && c.tlsMode() == TLSNone {
		return fieldErr("username", `no login over tls = "none": the password would cross the network in clear`)
	}
	if c.From == "" {
		return fieldErr("from", "missing: the sender's address")
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return fieldErr("from", "not an email address")
	}
	if len(c.To) == 0 {
		return fieldErr("to", `missing: a list of addresses, such as ["ops@example.com"]`)
	}
	for i, a := range c.To {
		if _, err := mail.ParseAddress(a); err != nil {
			return fieldErr(fmt.Sprintf("to[%d]", i), "not an email address")
		}
	}
	return nil
}

// tlsMode is the effective TLS mode of an email destination.
func (c Config) tlsMode() string {
	if c.TLS != "" {
		return c.TLS
	}
	if c.SMTPPort == 465 {
		return TLSImplicit
	}
	return TLSStartTLS
}

// port is the effective SMTP port.
func (c Config) port() int {
	if c.SMTPPort != 0 {
		return c.SMTPPort
	}
	switch c.tlsMode() {
	case TLSImplicit:
		return 465
	case TLSNone:
		return 25
	}
	return 587
}

// attach reports whether the problems workbook goes with the mail.
func (c Config) attach() bool { return c.Attach == nil || *c.Attach }

// readPassword reads the SMTP password file: its first line, without the
// line end. The error names the file, not its content.
func readPassword(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fieldErr("password_file", "%v", err)
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	pw = strings.TrimSuffix(pw, "\r")
	if pw == "" {
		return "", fieldErr("password_file", "the file %s is empty", path)
	}
	return pw, nil
}

// safeURL is an address with its secrets taken out: scheme and host only
// (WeCom and DingTalk carry the key in the query, Feishu in the path).
func safeURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" {
		return "***"
	}
	return u.Scheme + "://" + u.Host + "/***"
}

const masked = "***"

func mask(s string) string {
	if s == "" {
		return ""
	}
	return masked
}

// redacted is c with its secrets replaced.
func (c Config) redacted() Config {
	r := c
	r.URL = safeURL(c.URL)
	r.Secret = mask(c.Secret)
	return r
}

// String shows c with the URL reduced to its host and the secret masked.
func (c Config) String() string {
	r := c.redacted()
	var b strings.Builder
	fmt.Fprintf(&b, "%s (type=%s", r.label(), r.Type)
	add := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, " %s=%s", k, v)
		}
	}
	add("url", r.URL)
	on := r.On
	if on == "" {
		on = OnProblems
	}
	add("on", on)
	add("secret", r.Secret)
	if r.Type == TypeEmail {
		add("smtp_host", r.SMTPHost)
		add("smtp_port", fmt.Sprint(r.port()))
		add("tls", r.tlsMode())
		add("username", r.Username)
		add("password_file", r.PasswordFile)
		add("from", r.From)
		if len(r.To) > 0 {
			add("to", strings.Join(r.To, ","))
		}
	}
	b.WriteString(")")
	return b.String()
}

// GoString masks like String, for %#v.
func (c Config) GoString() string { return "notify.Config{" + c.String() + "}" }

// LogValue masks like String, for log/slog.
func (c Config) LogValue() slog.Value {
	r := c.redacted()
	attrs := []slog.Attr{slog.String("type", r.Type)}
	if r.Name != "" {
		attrs = append(attrs, slog.String("name", r.Name))
	}
	if r.URL != "" {
		attrs = append(attrs, slog.String("url", r.URL))
	}
	if r.Secret != "" {
		attrs = append(attrs, slog.String("secret", r.Secret))
	}
	if r.Type == TypeEmail {
		attrs = append(attrs, slog.String("smtp_host", r.SMTPHost), slog.Int("smtp_port", r.port()),
			slog.String("tls", r.tlsMode()), slog.String("from", r.From), slog.Any("to", r.To))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON writes c with its secrets masked (e.g. for `crmsync config -json`).
func (c Config) MarshalJSON() ([]byte, error) {
	type plain Config // without its methods
	return json.Marshal(plain(c.redacted()))
}
