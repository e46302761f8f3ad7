package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

// TestTerminalLanguage: the run summary on stderr is Chinese by default
// and English with -lang en (or lang = "en" in the config); -json stays
// the same contract in both.
func TestTerminalLanguage(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "member.csv")
	os.WriteFile(in, []byte("ThirdPartyCardID\r\nC1\r\n"), 0o644)
	cfg := writeConfig(t, "mall = \"万象城\"\n")
	cfgEn := writeConfig(t, "mall = \"万象城\"\nlang = \"en\"\n")
	for _, c := range []struct {
		name       string
		args       []string
		want, lack []string
	}{
		{"default", []string{"-config", cfg}, []string{"crmsync run:第 1 次运行,1 行,用时 ", ",1 次请求", "  商场:万象城", "  已发送", "  报告:"}, []string{"rows in", "report:", "sent "}},
		{"-lang en", []string{"-config", cfg, "-lang", "en"}, []string{"crmsync run: run 2: 1 rows in ", ", 1 requests", "  mall:     万象城", "  sent       1", "  report:   "}, []string{"次运行", "报告", "已发送"}},
		{"lang = en", []string{"-config", cfgEn}, []string{"crmsync run: run 3: 1 rows in ", "  sent       1"}, []string{"次运行", "已发送"}},
	} {
		args := append(append([]string{"run", "-ledger", filepath.Join(dir, "l.db"), "-report", filepath.Join(dir, c.name+".xlsx")}, c.args...), in)
		// A new member each time: every run sends one row.
		os.WriteFile(in, []byte("ThirdPartyCardID\r\nC"+c.name+"\r\n"), 0o644)
		code, _, stderr := cli(t, sandboxEnv(srv), args...)
		if code != crmsync.ExitOK {
			t.Fatalf("%s: exit %d\n%s", c.name, code, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: summary lacks %q:\n%s", c.name, w, stderr)
			}
		}
		for _, w := range c.lack {
			if strings.Contains(stderr, w) {
				t.Errorf("%s: summary has %q of the other language:\n%s", c.name, w, stderr)
			}
		}
	}
	for _, lang := range []string{"zh", "en"} {
		os.WriteFile(in, []byte("ThirdPartyCardID\r\nJ"+lang+"\r\n"), 0o644)
		code, stdout, stderr := cli(t, sandboxEnv(srv), "run", "-json", "-lang", lang, "-ledger", filepath.Join(dir, "l.db"), "-report", filepath.Join(dir, "j"+lang+".xlsx"), in)
		var s struct {
			Counts map[string]int `json:"counts"`
		}
		if err := json.Unmarshal([]byte(stdout), &s); code != 0 || err != nil || s.Counts["sent"] != 1 {
			t.Errorf("run -json -lang %s: exit %d, counts %v, %v; want sent=1\n%s", lang, code, s.Counts, err, stderr)
		}
	}
}

// TestRefusalLanguage: the refusals an operator meets at night — a missing
// ledger, a ledger in use, a ledger of another mall — are Chinese by
// default and English with -lang en; the exit code is 1 in both.
func TestRefusalLanguage(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "member.csv")
	os.WriteFile(in, []byte("ThirdPartyCardID\r\nC1\r\n"), 0o644)
	missing := filepath.Join(dir, "typo.db")
	check := func(what string, args []string, want string) {
		t.Helper()
		code, _, stderr := cliNoInit(t, nil, args...)
		if code != crmsync.ExitFailed || !strings.Contains(stderr, want) {
			t.Errorf("%s: exit %d, want 1 with %q:\n%s", what, code, want, stderr)
		}
	}
	check("plan on a missing ledger", []string{"plan", "-ledger", missing, in}, "账本 "+missing+" 不存在")
	check("plan -lang en on a missing ledger", []string{"plan", "-lang", "en", "-ledger", missing, in}, "ledger "+missing+" does not exist")
	check("status on a missing ledger, lang = en", []string{"status", "-config", writeConfig(t, "lang = \"en\"\n"), "-ledger", missing}, "does not exist")

	db := filepath.Join(dir, "l.db")
	l, err := ledger.Create(context.Background(), db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.UseMall(context.Background(), "万象城"); err != nil {
		t.Fatal(err)
	}
	other := writeConfig(t, "mall = \"大悦城\"\n")
	check("another mall", []string{"plan", "-config", other, "-ledger", db, in}, "属于商场「万象城」,而配置文件写的是商场「大悦城」")
	check("another mall, -lang en", []string{"plan", "-lang", "en", "-config", other, "-ledger", db, in}, `belongs to mall "万象城", but the config names mall "大悦城"`)

	unlock, err := l.Lock("crmsync run")
	if err != nil {
		t.Fatal(err)
	}
	check("ledger in use", []string{"plan", "-ledger", db, in}, "正在使用中")
	check("ledger in use, -lang en", []string{"plan", "-lang", "en", "-ledger", db, in}, "is in use by")
	unlock()
	l.Close()
}

// TestColumns: status's tables align by terminal columns (a Chinese
// character is two wide), and text without Chinese comes out as
// text/tabwriter writes it.
func TestColumns(t *testing.T) {
	ascii := "kind\tsent\tfailed\nmember\t6\t0\nscore-v2\t14\t0\n\nrun\tcommand\treason\n1\trun\t\n12\tretry\tkilled\nno tab here\n"
	var want, got strings.Builder
	tw := tabwriter.NewWriter(&want, 0, 0, 2, ' ', 0)
	tw.Write([]byte(ascii))
	tw.Flush()
	c := newColumns(&got)
	c.Write([]byte(ascii))
	c.Flush()
	if got.String() != want.String() {
		t.Errorf("columns over ASCII:\n%s\nwant (text/tabwriter):\n%s", got.String(), want.String())
	}
	got.Reset()
	c.Write([]byte("类型\t键\t状态\nscore\tsamples/消费积分.csv:16\tinvalid\n"))
	c.Flush()
	lines := strings.Split(got.String(), "\n")
	if i, j := strings.Index(lines[0], "状态"), strings.Index(lines[1], "invalid"); cells(lines[0][:i]) != cells(lines[1][:j]) {
		t.Errorf("columns over Chinese: the third column starts at terminal column %d and %d:\n%s", cells(lines[0][:i]), cells(lines[1][:j]), got.String())
	}
}
