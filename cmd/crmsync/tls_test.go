package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/mallcoo"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

func TestCheckBaseURL(t *testing.T) {
	for u, ok := range map[string]bool{
		"https://openapi10.mallcoo.cn":   true,
		"https://10.0.0.5:8443":          true,
		"http://127.0.0.1:8931":          true,
		"http://127.8.9.10":              true,
		"http://[::1]:8931":              true,
		"http://localhost:8931":          true,
		"http://LOCALHOST":               true,
		"http://openapi10.mallcoo.cn":    false,
		"http://10.0.0.5:8931":           false,
		"http://localhost.evil.example":  false,
		"http://127.0.0.1.nip.io":        false,
		"http://[::ffff:10.0.0.1]":       false,
		"ftp://openapi10.mallcoo.cn":     false,
		"https://user:pw@openapi10.x.cn": false,
		"openapi10.mallcoo.cn":           false,
	} {
		if err := mallcoo.CheckBaseURL(u); (err == nil) != ok {
			t.Errorf("CheckBaseURL(%q) = %v, want ok %v", u, err, ok)
		}
	}
}

// TestPlainHTTPRefused: a base URL over plain http:// to another machine
// stops the command before anything is read or sent, naming the setting it
// came from; to a loopback address (the fake API) it is fine.
func TestPlainHTTPRefused(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	input := filepath.Join(dir, "member.csv")
	os.WriteFile(input, []byte("ThirdPartyCardID\r\nC1\r\n"), 0o644)
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, []byte("base_url = \"http://openapi10.mallcoo.cn\"\n"), 0o600)

	for _, c := range []struct {
		name    string
		env     map[string]string
		args    []string
		code    int
		setting string
	}{
		{"env", map[string]string{"MALLCOO_BASE_URL": "http://openapi10.mallcoo.cn"}, nil, 1, "MALLCOO_BASE_URL"},
		{"config", nil, []string{"-config", cfg}, 1, "base_url"},
		{"flag", nil, []string{"-base-url", "http://10.1.2.3:80"}, 2, "-base-url"},
	} {
		t.Run(c.name, func(t *testing.T) {
			vars := sandboxEnv(srv)
			delete(vars, "MALLCOO_BASE_URL")
			for k, v := range c.env {
				vars[k] = v
			}
			ledger := filepath.Join(t.TempDir(), "l.db")
			args := append(append([]string{"run", "-ledger", ledger}, c.args...), input)
			code, _, stderr := cli(t, vars, args...)
			if code != c.code || !strings.Contains(stderr, c.setting) || !strings.Contains(stderr, "https://") {
				t.Errorf("run with plain http (%s): exit %d, want %d naming %s and https://\n%s", c.name, code, c.code, c.setting, stderr)
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("%d requests reached the API", n)
			}
		})
	}
	// The fake API on loopback over http is the sandbox's way.
	code, _, stderr := cli(t, sandboxEnv(srv), "run", "-ledger", filepath.Join(t.TempDir(), "l.db"), "-report", filepath.Join(t.TempDir(), "r.xlsx"), input)
	if code != 0 {
		t.Errorf("run against http://127.0.0.1: exit %d, want 0\n%s", code, stderr)
	}
}
