package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestConfigFromTOML(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "smtp-password")
	if err := os.WriteFile(pw, []byte(secretPasswd+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	text := `
[[notify]]
type = "wecom"
url  = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=` + secretKey + `"
on   = "problems"

[[notify]]
type = "dingtalk"
url = "https://oapi.dingtalk.com/robot/send?access_token=` + secretKey + `"
secret = "` + secretSign + `"
on = "failure"

[[notify]]
type = "feishu"
name = "飞书运维群"
url = "https://open.feishu.cn/open-apis/bot/v2/hook/` + secretHook + `"
secret = "` + secretSign + `"
on = "always"

[[notify]]
type = "webhook"
url = "https://hooks.example.com/crmsync?token=` + secretKey + `"

[[notify]]
type = "email"
smtp_host = "smtp.example.com"
smtp_port = 465
username = "crmsync@example.com"
password_file = "` + pw + `"
from = "crmsync <crmsync@example.com>"
to = ["ops@example.com", "finance@example.com"]
attach = false
`
	var file struct {
		Notify []Config `toml:"notify"`
	}
	md, err := toml.Decode(text, &file)
	if err != nil {
		t.Fatal(err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		t.Fatalf("undecoded keys %v", und)
	}
	ds, err := NewAll(file.Notify)
	if err != nil {
		t.Fatalf("NewAll = %v", err)
	}
	if len(ds) != 5 {
		t.Fatalf("NewAll gave %d destinations, want 5", len(ds))
	}
	email := ds[4]
	if email.password != secretPasswd || email.Config.tlsMode() != TLSImplicit || email.Config.attach() {
		t.Errorf("email: password read %v, tls %q, attach %v; want the file's first line, tls, false",
			email.password == secretPasswd, email.Config.tlsMode(), email.Config.attach())
	}
	if ds[2].Name() != "飞书运维群" || ds[0].Name() != "wecom" {
		t.Errorf("names %q, %q", ds[2].Name(), ds[0].Name())
	}

	// Every printed form of every config and destination, and a struct
	// holding them: no secret.
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	for _, d := range ds {
		c := d.Config
		log.Info("notify", "config", c)
		lv := c.LogValue().Resolve()
		if lv.Kind() != slog.KindGroup {
			t.Errorf("%s LogValue kind %v, want a group", c.Type, lv.Kind())
		}
		js, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		for what, s := range map[string]string{
			"String": c.String(), "%v": fmt.Sprintf("%v", c), "%+v": fmt.Sprintf("%+v", c), "%#v": fmt.Sprintf("%#v", c),
			"%s of pointer": fmt.Sprintf("%s", &c), "json": string(js), "destination %v": fmt.Sprintf("%v", d),
			"in a struct": fmt.Sprintf("%+v", file), "in a slice": fmt.Sprintf("%v", file.Notify),
			"LogValue": lv.String(),
		} {
			noSecret(t, c.Type+" "+what, s)
			if !strings.Contains(s, c.Type) {
				t.Errorf("%s %s = %q, does not say its type", c.Type, what, s)
			}
		}
	}
	noSecret(t, "slog output", logs.String())
	if !strings.Contains(logs.String(), `"url":"https://qyapi.weixin.qq.com/***"`) {
		t.Errorf("slog output does not show the masked url:\n%s", logs.String())
	}
}

func TestConfigErrors(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(secretPasswd), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wecom := "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + secretKey
	mail := func(c Config) Config {
		c.Type = "email"
		if c.SMTPHost == "" {
			c.SMTPHost = "smtp.example.com"
		}
		if c.From == "" {
			c.From = "a@example.com"
		}
		if c.To == nil {
			c.To = []string{"b@example.com"}
		}
		return c
	}
	cases := []struct {
		name  string
		c     Config
		field string
	}{
		{"no type", Config{URL: wecom}, "type"},
		{"unknown type", Config{Type: "slack", URL: wecom}, "type"},
		{"bad on", Config{Type: "wecom", URL: wecom, On: "sometimes"}, "on"},
		{"no url", Config{Type: "wecom"}, "url"},
		{"url not http", Config{Type: "webhook", URL: "ftp://" + secretKey + "@example.com/"}, "url"},
		{"url unparsable", Config{Type: "webhook", URL: "https://exa mple.com/%zz?k=" + secretKey}, "url"},
		{"wecom without key", Config{Type: "wecom", URL: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?token=" + secretKey}, "url"},
		{"dingtalk without token", Config{Type: "dingtalk", URL: "https://oapi.dingtalk.com/robot/send?key=" + secretKey}, "url"},
		{"dingtalk pre-signed", Config{Type: "dingtalk", URL: "https://oapi.dingtalk.com/robot/send?access_token=" + secretKey + "&sign=x&timestamp=1", Secret: secretSign}, "url"},
		{"feishu without hook", Config{Type: "feishu", URL: "https://open.feishu.cn/open-apis/bot/v2/?x=" + secretKey}, "url"},
		{"secret on wecom", Config{Type: "wecom", URL: wecom, Secret: secretSign}, "secret"},
		{"smtp key on robot", Config{Type: "wecom", URL: wecom, To: []string{"a@example.com"}}, "to"},
		{"email with url", mail(Config{URL: wecom}), "url"},
		{"email with secret", mail(Config{Secret: secretSign}), "secret"},
		{"email no host", Config{Type: "email", From: "a@example.com", To: []string{"b@example.com"}}, "smtp_host"},
		{"email host with port", mail(Config{SMTPHost: "smtp.example.com:587"}), "smtp_host"},
		{"email bad port", mail(Config{SMTPPort: 70000}), "smtp_port"},
		{"email bad tls", mail(Config{TLS: "ssl"}), "tls"},
		{"email user no password", mail(Config{Username: "u"}), "password_file"},
		{"email password no user", mail(Config{PasswordFile: pw}), "username"},
		{"email login in clear", mail(Config{TLS: "none", Username: "u", PasswordFile: pw}), "username"},
		{"email no from", Config{Type: "email", SMTPHost: "h", To: []string{"b@example.com"}}, "from"},
		{"email bad from", mail(Config{From: "not an address"}), "from"},
		{"email no to", mail(Config{To: []string{}}), "to"},
		{"email bad to", mail(Config{To: []string{"b@example.com", "nope"}}), "to[1]"},
		{"password file missing", mail(Config{Username: "u", PasswordFile: pw + ".missing"}), "password_file"},
		{"password file empty", mail(Config{Username: "u", PasswordFile: empty}), "password_file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.c)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("New = %v, want a *FieldError on %q", err, c.field)
			}
			noSecret(t, "error", err.Error())
		})
	}
	_, err := NewAll([]Config{{Type: "wecom", URL: wecom}, {Type: "wecom"}})
	if err == nil || !strings.HasPrefix(err.Error(), "notify[1]: url: ") {
		t.Errorf("NewAll = %v, want notify[1]: url: …", err)
	}
}

func TestWants(t *testing.T) {
	for on, want := range map[string]map[int]bool{
		"always":   {0: true, 1: true, 3: true, 130: true},
		"problems": {0: false, 1: true, 3: true, 130: false},
		"":         {0: false, 1: true, 3: true, 130: false},
		"failure":  {0: false, 1: true, 3: false, 130: false},
		" Always ": {0: true, 1: true, 3: true, 130: true},
	} {
		c := Config{On: on}
		for code, w := range want {
			if got := c.Wants(code); got != w {
				t.Errorf("Config{On: %q}.Wants(%d) = %v, want %v", on, code, got, w)
			}
		}
	}
}

func TestEmailDefaults(t *testing.T) {
	for _, c := range []struct {
		port       int
		tls        string
		wantPort   int
		wantTLSNow string
	}{
		{0, "", 587, TLSStartTLS},
		{465, "", 465, TLSImplicit},
		{0, "tls", 465, TLSImplicit},
		{0, "none", 25, TLSNone},
		{2525, "", 2525, TLSStartTLS},
	} {
		cfg := Config{Type: "email", SMTPPort: c.port, TLS: c.tls}
		if cfg.port() != c.wantPort || cfg.tlsMode() != c.wantTLSNow {
			t.Errorf("smtp_port %d tls %q: port %d tls %q; want %d %q", c.port, c.tls, cfg.port(), cfg.tlsMode(), c.wantPort, c.wantTLSNow)
		}
	}
}
