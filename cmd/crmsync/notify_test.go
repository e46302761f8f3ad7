package main

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

// wecomStandIn is a local WeCom group robot: it checks the documented
// markdown message and keeps what arrived.
type wecomStandIn struct {
	*httptest.Server
	mu   sync.Mutex
	got  []string // markdown contents
	keys []string // the key query parameter of each request
}

func newWeCom(t *testing.T) *wecomStandIn {
	w := &wecomStandIn{}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var msg struct {
			MsgType  string `json:"msgtype"`
			Markdown struct {
				Content string `json:"content"`
			} `json:"markdown"`
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &msg); err != nil || msg.MsgType != "markdown" || msg.Markdown.Content == "" {
			t.Errorf("WeCom got %s, want a markdown message", b)
		}
		w.mu.Lock()
		w.got = append(w.got, msg.Markdown.Content)
		w.keys = append(w.keys, r.URL.Query().Get("key"))
		w.mu.Unlock()
		rw.Write([]byte(`{"errcode":0,"errmsg":"ok"}`))
	}))
	t.Cleanup(w.Close)
	return w
}

func (w *wecomStandIn) messages() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.got...)
}

// TestNotifyAfterRun runs the README's cron line over the samples (bad rows
// on purpose) with a WeCom destination: the group hears the mall, the run,
// how it ended, the counts and what to do — and no member's card ID or
// mobile. A robot that is down changes nothing: same exit code, the run
// recorded. The webhook key never shows in what crmsync prints.
func TestNotifyAfterRun(t *testing.T) {
	const key = "WEBHOOKKEY-5d1e"
	wecom := newWeCom(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "crmsync.toml")
	os.WriteFile(cfg, []byte(`mall = "万象城"
[[notify]]
type = "wecom"
url = "`+wecom.URL+`/cgi-bin/webhook/send?key=`+key+`"
on = "problems"
`), 0o600)
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	code, stdout, stderr := cli(t, sandboxEnv(srv), "run", "-log-format", "json", "-config", cfg,
		"-ledger", filepath.Join(dir, "l.db"), "-report", filepath.Join(dir, "r.xlsx"), samplesDir(t))
	if code != 3 {
		t.Fatalf("run exit %d, want 3\n%s", code, stderr)
	}
	msgs := wecom.messages()
	if len(msgs) != 1 {
		t.Fatalf("WeCom got %d messages, want 1\n%s", len(msgs), stderr)
	}
	m := msgs[0]
	for _, want := range []string{"万象城", "run", "退出码 3", "无效 9", "问题工作簿", "+08:00"} {
		if !strings.Contains(m, want) {
			t.Errorf("message lacks %q:\n%s", want, m)
		}
	}
	t.Logf("what arrived:\n%s", m)
	// No personal data: no card ID or mobile of the samples (long digit runs).
	if d := regexp.MustCompile(`[0-9]{11,}`).FindString(m); d != "" {
		t.Errorf("message holds the digit run %s (a card ID or mobile?):\n%s", d, m)
	}
	if strings.Contains(stdout+stderr, key) {
		t.Errorf("the webhook key was printed")
	}
	// Nor is it in any file the run wrote: the report, the problems
	// workbook (their XML parts too) and the ledger's files.
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == cfg {
			return err
		}
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), key) || strings.Contains(cellsOrParts(t, p), key) {
			t.Errorf("the webhook key is in %s", p)
		}
		return nil
	})

	// A night where all is well sends nothing with on = "problems".
	good := filepath.Join(dir, "in", "member.csv")
	os.MkdirAll(filepath.Dir(good), 0o755)
	os.WriteFile(good, []byte("ThirdPartyCardID\r\n0201710000001\r\n"), 0o644)
	code, _, stderr = cli(t, sandboxEnv(srv), "run", "-config", cfg, "-ledger", filepath.Join(dir, "l2.db"),
		"-report", filepath.Join(dir, "r2.xlsx"), good)
	if len(wecom.messages()) != 1 {
		t.Errorf("a run that ended %d notified with on = problems\n%s", code, stderr)
	}

	// The robot is down: the exit code and the ledger are as without it.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	down := ln.Addr().String()
	ln.Close()
	os.WriteFile(cfg, []byte("mall = \"万象城\"\n[[notify]]\ntype = \"wecom\"\nurl = \"http://"+down+"/send?key="+key+"\"\n"), 0o600)
	code, stdout, stderr = cli(t, sandboxEnv(srv), "run", "-config", cfg, "-ledger", filepath.Join(dir, "l3.db"),
		"-report", filepath.Join(dir, "r3.xlsx"), samplesDir(t))
	if code != 3 || !strings.Contains(stderr, "notification not delivered") {
		t.Errorf("run with the robot down: exit %d, want 3 and a logged failure\n%s", code, stderr)
	}
	if strings.Contains(stdout+stderr, key) {
		t.Errorf("the webhook key was printed when the robot was down:\n%s", stderr)
	}
}

// TestNotifyTest: crmsync notify -test reaches every destination.
func TestNotifyTest(t *testing.T) {
	a, b := newWeCom(t), newWeCom(t)
	cfg := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(cfg, []byte("mall = \"大悦城\"\n[[notify]]\ntype = \"wecom\"\nurl = \""+a.URL+"/send?key=A\"\n[[notify]]\ntype = \"wecom\"\nurl = \""+b.URL+"/send?key=B\"\n"), 0o600)
	code, _, stderr := cli(t, nil, "notify", "-test", "-config", cfg)
	if code != 0 || len(a.messages()) != 1 || len(b.messages()) != 1 || !strings.Contains(a.messages()[0], "大悦城") {
		t.Errorf("notify -test: exit %d, messages %q and %q\n%s", code, a.messages(), b.messages(), stderr)
	}
	// -lang takes what the config's lang takes: a test message in
	// another language is refused before any is sent.
	if code, _, stderr := cli(t, nil, "notify", "-test", "-lang", "fr", "-config", cfg); code != 2 || len(a.messages()) != 1 || !strings.Contains(stderr, "-lang: want") {
		t.Errorf("notify -test -lang fr: exit %d, %d messages, want 2 and none sent\n%s", code, len(a.messages())-1, stderr)
	}
	if code, _, stderr := cli(t, nil, "notify", "-test", "-config", writeConfig(t, "mall = \"x\"\n")); code != 1 || !strings.Contains(stderr, "[[notify]]") {
		t.Errorf("notify -test without destinations: exit %d\n%s", code, stderr)
	}
	bad := writeConfig(t, "[[notify]]\ntype = \"wechat\"\nurl = \"https://x.example/?key=SECRETK\"\n")
	if code, _, stderr := cli(t, nil, "notify", "-test", "-config", bad); code != 1 || strings.Contains(stderr, "SECRETK") || !strings.Contains(stderr, "type") {
		t.Errorf("notify -test with a bad type: exit %d (want 1, naming type, never the URL)\n%s", code, stderr)
	}
}

// cellsOrParts returns the text of every part of a workbook (its XML,
// inflated), or "" for another file.
func cellsOrParts(t *testing.T, path string) string {
	t.Helper()
	if !strings.HasSuffix(path, ".xlsx") {
		return ""
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		return ""
	}
	defer zr.Close()
	var b strings.Builder
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			continue
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		b.Write(data)
	}
	return b.String()
}

// TestNotifyOncePerRun: every way a run, retry or apply ends notifies
// exactly once, stating the exit code the process exits with — the run that
// never began (no credentials; a missing ledger) with its command, and retry
// with nothing to send. A usage error notifies nobody.
func TestNotifyOncePerRun(t *testing.T) {
	wecom := newWeCom(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "crmsync.toml")
	os.WriteFile(cfg, []byte("mall = \"万象城\"\n[[notify]]\ntype = \"wecom\"\nurl = \""+wecom.URL+"/send?key=k\"\n"), 0o600)
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	db := filepath.Join(dir, "l.db")
	for _, c := range []struct {
		name    string
		noInit  bool
		vars    map[string]string
		args    []string
		command string
	}{
		{"no credentials", false, nil, []string{"run", "-ledger", db, samplesDir(t)}, "run"},
		{"missing ledger", true, sandboxEnv(srv), []string{"run", "-ledger", filepath.Join(dir, "none.db"), samplesDir(t)}, "run"},
		{"rows need a person", false, sandboxEnv(srv), []string{"run", "-ledger", db, "-report", filepath.Join(dir, "r.xlsx"), samplesDir(t)}, "run"},
		{"plan", false, sandboxEnv(srv), []string{"plan", "-ledger", db, "-report", filepath.Join(dir, "p.xlsx"), samplesDir(t)}, "plan"},
		{"retry, nothing to send", false, sandboxEnv(srv), []string{"retry", "-ledger", db}, "retry"},
		{"usage", false, sandboxEnv(srv), []string{"run", "-ledger", db, "-no-such-flag"}, ""},
	} {
		before := len(wecom.messages())
		args := append([]string{c.args[0], "-config", cfg}, c.args[1:]...)
		var code int
		var stderr string
		if c.noInit {
			code, _, stderr = cliNoInit(t, c.vars, args...)
		} else {
			code, _, stderr = cli(t, c.vars, args...)
		}
		msgs := wecom.messages()[before:]
		if c.command == "" {
			if code != 2 || len(msgs) != 0 {
				t.Errorf("%s: exit %d with %d messages, want 2 and none", c.name, code, len(msgs))
			}
			continue
		}
		if len(msgs) != 1 {
			t.Errorf("%s: exit %d with %d messages, want 1\n%s", c.name, code, len(msgs), stderr)
			continue
		}
		want := fmt.Sprintf("退出码 %d", code)
		if !strings.Contains(msgs[0], want) || !strings.Contains(msgs[0], c.command) {
			t.Errorf("%s: the process exits %d, the message lacks %q or %q:\n%s", c.name, code, want, c.command, msgs[0])
		}
		t.Logf("%s: exit %d", c.name, code)
	}
}
