package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

// TestPrivateKeyNeverShown runs every command that touches credentials or
// their consequences — a full run with per-request debug logs in JSON, a
// rejected row, failed sends, a retry, status, a regenerated report,
// config, and a run whose key Mallcoo refuses — with a recognisable private
// key, then searches everything they printed or wrote: stdout, stderr, the
// reports and problems workbooks (every XML part) and the ledger's files.
// The key must appear nowhere.
func TestPrivateKeyNeverShown(t *testing.T) {
	const key = "SECRET-KEY-7f3a9c"
	for _, variant := range []string{"MALLCOO_PRIVATE_KEY", "MALLCOO_PRIVATE_KEY_FILE", "config private_key_file"} {
		t.Run(variant, func(t *testing.T) {
			creds := mallcoo.Credentials{AppID: "app", PublicKey: "pub", PrivateKey: key}
			srv := mallcootest.NewServer(mallcootest.Options{Credentials: creds, FailRate: 0.2, Seed: 7})
			defer srv.Close()

			out := t.TempDir()     // everything crmsync writes: searched
			secrets := t.TempDir() // the key file and the config: not searched
			keyFile := filepath.Join(secrets, "private.key")
			if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			vars := map[string]string{"MALLCOO_APP_ID": "app", "MALLCOO_PUBLIC_KEY": "pub", "MALLCOO_BASE_URL": srv.URL}
			var config []string
			switch variant {
			case "MALLCOO_PRIVATE_KEY":
				vars["MALLCOO_PRIVATE_KEY"] = key
			case "MALLCOO_PRIVATE_KEY_FILE":
				vars["MALLCOO_PRIVATE_KEY_FILE"] = keyFile
			default:
				cf := filepath.Join(secrets, "crmsync.toml")
				text := "[credentials]\nprivate_key_file = " + strconv.Quote(keyFile) + "\n"
				if err := os.WriteFile(cf, []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
				config = []string{"-config", cf}
			}

			// A score row Mallcoo already holds (sent before from another
			// ledger): this run's send of it is rejected as a duplicate.
			extra := filepath.Join(t.TempDir(), "extra")
			if err := os.MkdirAll(extra, 0o755); err != nil {
				t.Fatal(err)
			}
			row := "交易ID,会员卡号ID,积分事件,消费时间,消费金额,消费商户,积分值\nTSECRET0001,0201719999999,1,2024-11-01 10:05:03,10.00,S0012,10\n"
			if err := os.WriteFile(filepath.Join(extra, "2024-11-01_score.csv"), []byte(row), 0o644); err != nil {
				t.Fatal(err)
			}

			var printed strings.Builder
			do := func(wantCodes []int, args ...string) string {
				t.Helper()
				code, stdout, stderr := cli(t, vars, args...)
				printed.WriteString(stdout + stderr)
				for _, w := range wantCodes {
					if code == w {
						return stdout + stderr
					}
				}
				t.Fatalf("crmsync %q: exit %d, want one of %v\nstdout:\n%s\nstderr:\n%s", args, code, wantCodes, stdout, stderr)
				return ""
			}
			db := filepath.Join(out, "ledger.db")
			reports := filepath.Join(out, "reports")
			runFlags := append([]string{"-v", "-log-format", "json", "-json", "-retries", "0"}, config...)

			pre := append([]string{"run", "-ledger", filepath.Join(out, "pre.db"), "-report", filepath.Join(reports, "pre.xlsx")}, runFlags...)
			do([]int{crmsync.ExitOK, crmsync.ExitNeedsPerson}, append(pre, extra)...)
			for len(srv.Delivered(crmsync.KindScore)) == 0 {
				// The 503 dice fell on the one request: send it again.
				do([]int{crmsync.ExitOK, crmsync.ExitNeedsPerson}, append([]string{"retry", "-ledger", filepath.Join(out, "pre.db"), "-report", filepath.Join(reports, "pre-retry.xlsx")}, runFlags...)...)
			}

			args := append([]string{"run", "-ledger", db, "-report", filepath.Join(reports, "run.xlsx")}, runFlags...)
			code, stdout, stderr := cli(t, vars, append(args, samplesDir(t), extra)...)
			printed.WriteString(stdout + stderr)
			if code != crmsync.ExitNeedsPerson {
				t.Fatalf("run: exit %d, want %d\n%s", code, crmsync.ExitNeedsPerson, stderr)
			}
			s := decodeSummary(t, stdout)
			seen := maps.Clone(s.Counts)
			for i := 0; seen[crmsync.OutcomeRejected] == 0 && i < 10; i++ {
				// The 503 dice fell on the duplicate row (no retries):
				// resend the failed rows until Mallcoo rejects it.
				_, rout, rerr := cli(t, vars, append([]string{"retry", "-ledger", db, "-report", filepath.Join(reports, fmt.Sprintf("until-rejected-%d.xlsx", i))}, runFlags...)...)
				printed.WriteString(rout + rerr)
				again := decodeSummary(t, rout)
				seen[crmsync.OutcomeRejected] += again.Counts[crmsync.OutcomeRejected]
			}
			for _, o := range []crmsync.Outcome{crmsync.OutcomeSent, crmsync.OutcomeRejected, crmsync.OutcomeFailed, crmsync.OutcomeInvalid} {
				if seen[o] == 0 {
					t.Errorf("run: no row %s (counts %v): the test means to exercise every path", o, s.Counts)
				}
			}
			if !strings.Contains(stderr, `"level":"DEBUG"`) {
				t.Errorf("run -v -log-format json: no debug lines on stderr:\n%s", stderr)
			}

			// When the retries above delivered everything, this one has
			// nothing to send and writes no report (it says so).
			code, rout, rerr := cli(t, vars, append([]string{"retry", "-ledger", db, "-report", filepath.Join(reports, "retry.xlsx"), "-uncertain"}, runFlags...)...)
			printed.WriteString(rout + rerr)
			var nothing struct {
				Nothing bool `json:"nothing_to_send"`
			}
			if err := json.Unmarshal([]byte(rout), &nothing); (code != crmsync.ExitOK && code != crmsync.ExitNeedsPerson) || err != nil {
				t.Fatalf("retry -uncertain: exit %d (%v)\n%s\n%s", code, err, rout, rerr)
			}
			retried := !nothing.Nothing
			do([]int{crmsync.ExitOK}, "status", "-json", "-ledger", db)
			do([]int{crmsync.ExitOK}, "status", "-ledger", db)
			do([]int{crmsync.ExitOK}, "report", "-ledger", db, "-report", filepath.Join(reports, "again.xlsx"), strconv.FormatInt(s.RunID, 10))
			do([]int{crmsync.ExitOK}, "report", "-ledger", db, "-lang", "en", "-report", filepath.Join(reports, "again-en.xlsx"), strconv.FormatInt(s.RunID, 10))
			do([]int{crmsync.ExitOK}, append([]string{"config"}, config...)...)
			do([]int{crmsync.ExitOK}, append([]string{"config", "-json"}, config...)...)
			do([]int{crmsync.ExitOK, crmsync.ExitNeedsPerson}, append([]string{"plan", "-ledger", db, "-report", filepath.Join(reports, "plan.xlsx")}, append(runFlags, samplesDir(t))...)...)

			// A Mallcoo that holds another key refuses every signature: the
			// errors printed about it must not quote ours.
			other := mallcootest.NewServer(mallcootest.Options{Credentials: mallcoo.Credentials{AppID: "app", PublicKey: "pub", PrivateKey: "another-key"}})
			defer other.Close()
			vars["MALLCOO_BASE_URL"] = other.URL
			do([]int{crmsync.ExitFailed, crmsync.ExitNeedsPerson}, append([]string{"run", "-ledger", filepath.Join(out, "refused.db"), "-report", filepath.Join(reports, "refused.xlsx")}, append(runFlags, samplesDir(t))...)...)

			if strings.Contains(strings.ToLower(printed.String()), strings.ToLower(key)) {
				t.Errorf("the private key was printed on stdout or stderr:\n%s", excerpt(printed.String(), key))
			}
			searched, hits := searchTree(t, out, key)
			for _, h := range hits {
				t.Errorf("%s holds the private key", h)
			}
			for _, want := range []string{"ledger.db", "run.xlsx", "run-problems.xlsx", "again.xlsx", "retry.xlsx"} {
				if !searched[want] && (want != "retry.xlsx" || retried) {
					t.Errorf("%s was not written, so not searched (searched %v)", want, searched)
				}
			}
		})
	}
}

// searchTree looks for secret, in any case, in every file under dir and
// inside every part of each workbook; it returns the base names it searched
// and where it found the secret.
func searchTree(t *testing.T, dir, secret string) (searched map[string]bool, hits []string) {
	t.Helper()
	needle := []byte(strings.ToLower(secret))
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		seen[d.Name()] = true
		if bytes.Contains(bytes.ToLower(b), needle) {
			hits = append(hits, path)
		}
		if filepath.Ext(path) != ".xlsx" {
			return nil
		}
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Errorf("%s: not a workbook: %v", path, err)
			return nil
		}
		if len(zr.File) == 0 {
			t.Errorf("%s: an empty workbook", path)
		}
		for _, zf := range zr.File {
			rc, err := zf.Open()
			if err != nil {
				return err
			}
			part, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return err
			}
			if bytes.Contains(bytes.ToLower(part), needle) {
				hits = append(hits, path+": part "+zf.Name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("search %s: %v", dir, err)
	}
	return seen, hits
}

// excerpt returns the lines of s that hold secret.
func excerpt(s, secret string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(strings.ToLower(l), strings.ToLower(secret)) {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// TestConfigErrorsNeverShowSecrets: a config file or environment with a
// mistake on a line holding a secret is refused by line and key, and the
// secret appears nowhere in what crmsync prints.
func TestConfigErrorsNeverShowSecrets(t *testing.T) {
	const secret = "S3CR3T9d2eXq"
	for _, tc := range []struct {
		name string
		text string
		vars map[string]string
		want []string // in stderr
	}{
		{"private key over lines", "[credentials]\napp_id = \"app\"\nprivate_key = \"-----BEGIN PRIVATE KEY-----\n" + secret + "\n-----END PRIVATE KEY-----\"\n", nil, []string{"line 3", "credentials.private_key", "not valid TOML"}},
		{"private key unquoted", "[credentials]\nprivate_key = " + secret + "\n", nil, []string{"line 2", "credentials.private_key", "not valid TOML"}},
		{"private key unclosed", "[credentials]\nprivate_key = '" + secret + "\n", nil, []string{"line 2", "credentials.private_key"}},
		{"private key bad escape", "[credentials]\nprivate_key = \"" + secret + "\\q\"\n", nil, []string{"line 2", "credentials.private_key"}},
		{"private key twice", "[credentials]\nprivate_key = \"a\"\nprivate_key = \"" + secret + "\"\n", nil, []string{"line 3", "credentials.private_key"}},
		{"private key a number", "[credentials]\nprivate_key = 7" + strings.Repeat("3", 10) + "\n", nil, []string{"line 2", "credentials.private_key", "a whole number"}},
		{"private key a list", "[credentials]\nprivate_key = [\"" + secret + "\"]\n", nil, []string{"line 2", "credentials.private_key", "a list"}},
		{"private key inline table", "credentials = { private_key = " + secret + " }\n", nil, []string{"line 1", "not valid TOML"}},
		{"key line alone", "concurrency = 4\n" + secret + "\n", nil, []string{"line 2", "not valid TOML"}},
		{"webhook unknown", "webhook_url = \"https://hooks.example.com/services/" + secret + "\"\n", nil, []string{"line 1", "webhook_url", "unknown setting"}},
		{"webhook table", "[notify]\ntoken = \"" + secret + "\"\n", nil, []string{"notify", "[[notify]] table"}},
		{"unknown credential", "[credentials]\nprivatekey = \"" + secret + "\"\n", nil, []string{"line 2", "credentials.privatekey", "unknown setting"}},
		{"base url", "base_url = \"" + secret + "\"\n", nil, []string{"line 1", "base_url", "want a URL"}},
		{"base url with a password", "base_url = \"ftp://u:" + secret + "@example.com\"\n", nil, []string{"line 1", "base_url"}},
		{"lang", "lang = \"" + secret + "\"\n", nil, []string{"line 1", "lang"}},
		{"timeout", "timeout = \"" + secret + "\"\n", nil, []string{"line 1", "timeout"}},
		{"mapping code", "[mappings.PayType]\n\"微信\" = \"" + secret + "\"\n", nil, []string{"line 2", "mappings.PayType"}},
		{"private key as a bare key", "[credentials]\n" + secret + "AB==\n", nil, []string{"line 2", "not valid TOML"}},
		{"notify secret a number", "[[notify]]\ntype = \"dingtalk\"\nsecret = 7" + strings.Repeat("3", 10) + "\n", nil, []string{"line 3", "notify.secret", "a whole number"}},
		{"notify secret unknown key", "[[notify]]\ntype = \"dingtalk\"\nsecrets = \"" + secret + "\"\n", nil, []string{"line 3", "notify.secrets", "unknown setting"}},
		{"notify url wrong", "[[notify]]\ntype = \"wecom\"\nurl = \"https://qyapi.weixin.qq.com/?token=" + secret + "\"\n", nil, []string{"line 3", "notify.url", "key="}},
		{"app id a table", "[credentials.app_id]\nx = \"" + secret + "\"\n", nil, []string{"line 1", "credentials.app_id", "a table"}},
		{"env base url", "", map[string]string{"MALLCOO_BASE_URL": secret}, []string{"MALLCOO_BASE_URL"}},
		{"env key file", "", map[string]string{"MALLCOO_APP_ID": "app", "MALLCOO_PUBLIC_KEY": "pub", "MALLCOO_PRIVATE_KEY_FILE": secret}, []string{"MALLCOO_PRIVATE_KEY_FILE", "no such file"}},
		{"config key file", "[credentials]\napp_id = \"app\"\npublic_key = \"pub\"\nprivate_key_file = \"" + secret + "\"\n", nil, []string{"private_key_file", "no such file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var args []string
			if tc.text != "" {
				cf := filepath.Join(dir, "crmsync.toml")
				if err := os.WriteFile(cf, []byte(tc.text), 0o600); err != nil {
					t.Fatal(err)
				}
				args = []string{"-config", cf}
			}
			in := filepath.Join(dir, "in")
			os.Mkdir(in, 0o755)
			os.WriteFile(filepath.Join(in, "grade.csv"), []byte("ThirdPartyCardID,BeforeCardCode,AfterCardCode,ChangeType,ChangeTime,GradeChangeID\n9000000000001,普卡,银卡,0,2024-11-01 10:00:00,G1\n"), 0o644)
			failed := false
			for _, cmd := range [][]string{
				append([]string{"config"}, args...),
				append(append([]string{"plan"}, args...), "-ledger", filepath.Join(dir, "l.db"), "-report", filepath.Join(dir, "p.xlsx"), in),
				append(append([]string{"run"}, args...), "-ledger", filepath.Join(dir, "l.db"), "-report", filepath.Join(dir, "r.xlsx"), in),
			} {
				code, stdout, stderr := cli(t, tc.vars, cmd...)
				if strings.Contains(stdout+stderr, secret) || strings.Contains(stdout+stderr, strings.Repeat("3", 10)) {
					t.Errorf("crmsync %s: the secret is shown:\nstdout:\n%s\nstderr:\n%s", cmd[0], excerpt(stdout, secret), excerpt(stderr, secret))
				}
				if code == crmsync.ExitFailed {
					failed = true
					for _, w := range tc.want {
						if !strings.Contains(stderr, w) {
							t.Errorf("crmsync %s: stderr lacks %q:\n%s", cmd[0], w, stderr)
						}
					}
				}
			}
			if !failed {
				t.Errorf("no command refused the setting")
			}
		})
	}
}
