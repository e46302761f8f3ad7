package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/mallcoo"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

// writeConfig writes a -config file into a fresh temporary directory.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "crmsync.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// configJSON runs `crmsync config -json` and decodes what it prints.
func configJSON(t *testing.T, vars map[string]string, args ...string) effectiveConfig {
	t.Helper()
	code, stdout, stderr := cli(t, vars, append([]string{"config", "-json"}, args...)...)
	if code != crmsync.ExitOK {
		t.Fatalf("crmsync config -json %q: exit %d, want 0\n%s", args, code, stderr)
	}
	var c effectiveConfig
	if err := json.Unmarshal([]byte(stdout), &c); err != nil {
		t.Fatalf("crmsync config -json %q: not one JSON object: %v\n%s", args, err, stdout)
	}
	return c
}

// TestConfigPrecedence climbs each rung: defaults, then the file, then the
// environment, then a flag, and checks each one wins over the ones below.
func TestConfigPrecedence(t *testing.T) {
	file := writeConfig(t, `
base_url = "https://file.example"
ledger = "/var/lib/crmsync/file.db"
report_dir = "/var/lib/crmsync/reports"
concurrency = 4
rate = 20
timeout = "30s"
retries = 5
lang = "en"
encoding = "gbk"
already_delivered_codes = [307]
systemic_codes = [401, 30018]
`)
	envURL := map[string]string{"MALLCOO_BASE_URL": "https://env.example"}

	def := configJSON(t, nil)
	want := effectiveConfig{BaseURL: mallcoo.DefaultBaseURL, Ledger: "crmsync.db", ReportDir: "reports", Concurrency: 8, Rate: 0, Timeout: "10s", Retries: 3, Lang: "zh", Encoding: "auto"}
	checkSettings(t, "defaults", want, def)
	if def.Sources["concurrency"] != "default" || def.ConfigFile != "" {
		t.Errorf("defaults: config_file %q, sources %v: want none and default", def.ConfigFile, def.Sources)
	}

	fromFile := configJSON(t, nil, "-config", file)
	want = effectiveConfig{BaseURL: "https://file.example", Ledger: "/var/lib/crmsync/file.db", ReportDir: "/var/lib/crmsync/reports", Concurrency: 4, Rate: 20, Timeout: "30s", Retries: 5, Lang: "en", Encoding: "gbk"}
	checkSettings(t, "file over defaults", want, fromFile)
	if got := fromFile.AlreadyDeliveredCodes; len(got) != 1 || got[0] != 307 {
		t.Errorf("file: already_delivered_codes = %v, want [307]", got)
	}
	if got := fromFile.SystemicCodes; len(got) != 2 || got[1] != 30018 {
		t.Errorf("file: systemic_codes = %v, want [401 30018]", got)
	}
	if fromFile.Sources["base_url"] != "config file" {
		t.Errorf("file: sources[base_url] = %q, want %q", fromFile.Sources["base_url"], "config file")
	}

	// $CRMSYNC_CONFIG names the file when -config does not.
	viaEnv := configJSON(t, map[string]string{"CRMSYNC_CONFIG": file})
	if viaEnv.ConfigFile != file || viaEnv.Concurrency != 4 {
		t.Errorf("CRMSYNC_CONFIG: config_file %q concurrency %d, want %q and 4", viaEnv.ConfigFile, viaEnv.Concurrency, file)
	}

	envOverFile := configJSON(t, envURL, "-config", file)
	if envOverFile.BaseURL != "https://env.example" || envOverFile.Sources["base_url"] != "env MALLCOO_BASE_URL" {
		t.Errorf("env over file: base_url %q from %q, want https://env.example from env MALLCOO_BASE_URL", envOverFile.BaseURL, envOverFile.Sources["base_url"])
	}

	flags := configJSON(t, envURL, "-config", file, "-base-url", "https://flag.example", "-ledger", "flag.db",
		"-concurrency", "2", "-rate", "7.5", "-timeout", "3s", "-retries", "0", "-lang", "zh", "-encoding", "utf-8")
	want = effectiveConfig{BaseURL: "https://flag.example", Ledger: "flag.db", ReportDir: "/var/lib/crmsync/reports", Concurrency: 2, Rate: 7.5, Timeout: "3s", Retries: 0, Lang: "zh", Encoding: "utf-8"}
	checkSettings(t, "flags over env and file", want, flags)
	for key, src := range map[string]string{"base_url": "flag -base-url", "concurrency": "flag -concurrency", "retries": "flag -retries", "report_dir": "config file"} {
		if flags.Sources[key] != src {
			t.Errorf("flags: sources[%s] = %q, want %q", key, flags.Sources[key], src)
		}
	}

	// -report names the file; report_dir is then unused.
	rep := configJSON(t, nil, "-config", file, "-report", "/tmp/r.xlsx")
	if rep.Report != "/tmp/r.xlsx" || rep.Sources["report"] != "flag -report" {
		t.Errorf("-report: report %q from %q, want /tmp/r.xlsx from flag -report", rep.Report, rep.Sources["report"])
	}
}

func checkSettings(t *testing.T, what string, want, got effectiveConfig) {
	t.Helper()
	type settings struct {
		BaseURL, Ledger, ReportDir string
		Concurrency                int
		Rate                       float64
		Timeout                    string
		Retries                    int
		Lang, Encoding             string
	}
	pick := func(c effectiveConfig) settings {
		return settings{c.BaseURL, c.Ledger, c.ReportDir, c.Concurrency, c.Rate, c.Timeout, c.Retries, c.Lang, c.Encoding}
	}
	if w, g := pick(want), pick(got); w != g {
		t.Errorf("%s: crmsync config -json = %+v, want %+v", what, g, w)
	}
}

// TestConfigCredentials: AppID and PublicKey are shown with their source;
// the private key only as set or missing, and from where.
func TestConfigCredentials(t *testing.T) {
	const key = "PRIVATE-7f3a9c-never-shown"
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "private.key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fileWithKey := writeConfig(t, "[credentials]\napp_id = \"file-app\"\npublic_key = \"file-pub\"\nprivate_key = \""+key+"\"\n")
	fileWithKeyFile := writeConfig(t, "[credentials]\nprivate_key_file = \""+keyFile+"\"\n")

	for _, tc := range []struct {
		name    string
		vars    map[string]string
		args    []string
		app     string
		private string
	}{
		{"env", map[string]string{"MALLCOO_APP_ID": "app", "MALLCOO_PUBLIC_KEY": "pub", "MALLCOO_PRIVATE_KEY": key}, nil, "app", "set (from MALLCOO_PRIVATE_KEY)"},
		{"env file", map[string]string{"MALLCOO_APP_ID": "app", "MALLCOO_PRIVATE_KEY_FILE": keyFile}, nil, "app", "set (from MALLCOO_PRIVATE_KEY_FILE)"},
		{"env file missing", map[string]string{"MALLCOO_PRIVATE_KEY_FILE": filepath.Join(dir, "nope")}, nil, "", "unreadable: read MALLCOO_PRIVATE_KEY_FILE: "},
		{"config file", nil, []string{"-config", fileWithKey}, "file-app", "set (from config file private_key"},
		{"env beats config file", map[string]string{"MALLCOO_APP_ID": "env-app"}, []string{"-config", fileWithKey}, "env-app", "set (from config file private_key"},
		{"config key file", nil, []string{"-config", fileWithKeyFile}, "", "set (from config file private_key_file)"},
		{"none", nil, nil, "", "missing: set MALLCOO_PRIVATE_KEY_FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := configJSON(t, tc.vars, tc.args...)
			if c.Credentials.AppID != tc.app {
				t.Errorf("credentials.app_id = %q, want %q", c.Credentials.AppID, tc.app)
			}
			if !strings.HasPrefix(c.Credentials.PrivateKey, tc.private) {
				t.Errorf("credentials.private_key = %q, want it to start with %q", c.Credentials.PrivateKey, tc.private)
			}
			for _, args := range [][]string{append([]string{"config"}, tc.args...), append([]string{"config", "-json"}, tc.args...)} {
				_, stdout, stderr := cli(t, tc.vars, args...)
				if strings.Contains(stdout+stderr, key) {
					t.Errorf("crmsync %q shows the private key:\n%s%s", args, stdout, stderr)
				}
			}
		})
	}
}

// TestConfigValidation: each mistake in a config file stops the command
// with exit 1 and an error naming the key and its line (0: none to name).
func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		key        string
		line       int
	}{
		{"unknown key", "concurrency = 4\nconcurency = 4\n", "concurency", 2},
		{"key in another case", "concurrency = 4\nConcurrency = 200\n", "Concurrency", 2},
		{"table in another case", "[Credentials]\napp_id = \"a\"\n", "Credentials", 1},
		{"unknown credential", "[credentials]\napp_id = \"a\"\nprivate = \"x\"\n", "credentials.private", 3},
		{"wrong type", "lang = \"zh\"\n\nconcurrency = \"8\"\n", "concurrency", 3},
		{"timeout not text", "timeout = 10\n", "timeout", 1},
		{"bad duration", "timeout = \"10\"\n", "timeout", 1},
		{"zero timeout", "timeout = \"0s\"\n", "timeout", 1},
		{"negative concurrency", "concurrency = -1\n", "concurrency", 1},
		{"too much concurrency", "concurrency = 1000\n", "concurrency", 1},
		{"negative rate", "rate = -0.5\n", "rate", 1},
		{"rate as text", "rate = \"50\"\n", "rate", 1},
		{"negative retries", "retries = -1\n", "retries", 1},
		{"lang", "lang = \"fr\"\n", "lang", 1},
		{"encoding", "encoding = \"latin1\"\n", "encoding", 1},
		{"base url", "base_url = \"openapi10.mallcoo.cn\"\n", "base_url", 1},
		{"file mode", "file_mode = \"0644\"\n", "file_mode", 1},
		{"no rows per file", "max_rows_per_file = 0\n", "max_rows_per_file", 1},
		{"codes not integers", "already_delivered_codes = [\"307\"]\n", "already_delivered_codes", 1},
		{"codes not a list", "systemic_codes = 401\n", "systemic_codes", 1},
		{"success code", "lang = \"zh\"\nalready_delivered_codes = [307, 1]\n", "already_delivered_codes", 2},
		{"mappings not a table", "mappings = 5\n", "mappings", 1},
		{"mapping not a table", "mappings.PayType = 5\n", "mappings.PayType", 1},
		{"mapping unknown field", "[mappings.PayTyp]\n\"微信\" = 12\n", "mappings.PayTyp", 1},
		{"mapping string field", "[mappings.CrmShopID]\n\"一楼\" = 12\n", "mappings.CrmShopID", 1},
		{"mapping code text", "[mappings.PayType]\n\"支付宝\" = 6\n\"微信\" = \"12\"\n", `mappings.PayType."微信"`, 3},
		{"mapping code fraction", "mappings.PayType = { \"微信\" = 1.5 }\n", `mappings.PayType."微信"`, 1},
		{"mapping closed enum", "[mappings.ChangeType]\n\"升\" = 5\n", `mappings.ChangeType."升"`, 2},
		{"mapping same word", "[mappings.PayType]\n\"微信\" = 12\n\" 微信 \" = 13\n", `mappings.PayType."微信"`, 2},
		{"mapping tables twice", "[mappings.PayType]\n\"微信\" = 12\n[mappings.paytype]\n\"现金\" = 1\n", "mappings.paytype", 3},
		{"syntax", "concurrency = \n", "concurrency", 1},
		{"bool as text", "lang = \"zh\"\nstrict_datetime = \"yes\"\n", "strict_datetime", 2},
		{"resend as number", "score_resend_uncertain = 1\n", "score_resend_uncertain", 1},
		{"kinds not a table", "kinds = []\n", "kinds", 1},
		{"kind tables twice", "[kinds.Score]\nrequired = [\"PosID\"]\n[kinds.score]\nrequired = [\"TradeSerialNo\"]\n", "kinds.score", 3},
		{"required unknown kind", "[kinds.scores]\nrequired = [\"PosID\"]\n", "kinds.scores", 1},
		{"required unknown field", "[kinds.score]\nrequired = [\"TradeSerialNo\", \"PosNo\"]\n", "kinds.score.required", 2},
		{"required not a list", "[kinds.score]\nrequired = \"PosID\"\n", "kinds.score.required", 2},
		{"kinds unknown key", "[kinds.grade]\nrequire = [\"Remark\"]\n", "kinds.grade.require", 2},
		{"column unknown field", "[kinds.score.columns]\n\"会员\" = \"Card\"\n", `kinds.score.columns."会员"`, 2},
		{"column not text", "[columns]\n\"会员\" = 5\n", `columns."会员"`, 2},
		{"notify unknown key", "[[notify]]\ntype = \"wecom\"\nwebhook = \"x\"\n", "notify.webhook", 3},
		{"notify port as text", "[[notify]]\ntype = \"email\"\nsmtp_port = \"587\"\n", "notify.smtp_port", 3},
		{"notify to not a list", "[[notify]]\ntype = \"email\"\nto = \"ops@example.com\"\n", "notify.to", 3},
		{"notify a table", "[notify]\ntype = \"email\"\n", "notify", 1},
		{"notify no url", "[[notify]]\ntype = \"wecom\"\n", "notify.url", 1},
		{"notify second table", "[[notify]]\ntype = \"wecom\"\nurl = \"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k\"\n[[notify]]\ntype = \"wecom\"\n", "notify.url", 4},
		{"notify second address", "[[notify]]\ntype = \"wecom\"\nurl = \"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k\"\n[[notify]]\ntype = \"email\"\nsmtp_host = \"h\"\nfrom = \"a@example.com\"\nto = [\"a@example.com\", \"x\"]\n", "notify.to[1]", 8},
		{"notify an empty list", "notify = []\n", "notify", 1},
		{"notify port as text in the first table", "[[notify]]\ntype = \"email\"\nsmtp_port = \"587\"\n[[notify]]\ntype = \"email\"\nsmtp_port = 25\n", "notify.smtp_port", 3},
		{"notify dotted, not a table", "lang = \"zh\"\nnotify.type = \"wecom\"\n", "notify", 2},
		{"mappings a list of tables", "[[mappings]]\na = 1\n", "mappings", 1},
		{"unknown dotted key", "lang = \"zh\"\nx.y = 1\n", "x", 2},
		{"required item not text", "[kinds.score]\nrequired = [\"PosID\", 5]\n", "kinds.score.required", 2},
		{"mask as text", "mask_personal = \"no\"\n", "mask_personal", 1},
		{"retention not a period", "retention = \"soon\"\n", "retention", 1},
		{"retention zero", "lang = \"zh\"\nretention = \"0d\"\n", "retention", 2},
		{"retention too long", "retention = \"213504d\"\n", "retention", 1},
		{"retention overflows negative", "retention = \"1000000d\"\n", "retention", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeConfig(t, tc.text)
			_, err := loadConfig(file)
			var ce *configError
			if !errors.As(err, &ce) || ce.Key != tc.key || ce.Line != tc.line || ce.Path != file || ce.Problem == "" {
				t.Fatalf("loadConfig over %q = %#v, want a *configError on %s at line %d", tc.text, err, tc.key, tc.line)
			}
			code, stdout, stderr := cli(t, nil, "config", "-config", file)
			if code != crmsync.ExitFailed || !strings.Contains(stderr, err.Error()) {
				t.Fatalf("crmsync config over %q: exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", tc.text, code, crmsync.ExitFailed, err, stdout, stderr)
			}
			// run reads the file the same way and stops before touching
			// the ledger.
			db := filepath.Join(t.TempDir(), "l.db")
			if code, _, stderr := cliNoInit(t, nil, "plan", "-config", file, "-ledger", db, samplesDir(t)); code != crmsync.ExitFailed || !strings.Contains(stderr, err.Error()) {
				t.Errorf("crmsync plan -config over %q: exit %d, want %d with %q\n%s", tc.text, code, crmsync.ExitFailed, err, stderr)
			}
			if _, err := os.Stat(db); err == nil {
				t.Errorf("crmsync plan with a bad config created the ledger")
			}
		})
	}

	// An item of the wrong type in a list of a [[notify]] table: the
	// library names the line and key, in its words.
	file := writeConfig(t, "[[notify]]\ntype = \"email\"\nto = [\"ops@example.com\", 7]\n")
	if code, _, stderr := cli(t, nil, "config", "-config", file); code != crmsync.ExitFailed || !strings.Contains(stderr, "line 3") {
		t.Errorf("crmsync config over a list with a number in to: exit %d, stderr %q: want 1 and line 3", code, stderr)
	}

	// A missing file says which path.
	missing := filepath.Join(t.TempDir(), "missing.toml")
	if code, _, stderr := cli(t, nil, "config", "-config", missing); code != crmsync.ExitFailed || !strings.Contains(stderr, missing) {
		t.Errorf("crmsync config -config %s: exit %d, stderr %q: want 1 and the path", missing, code, stderr)
	}
	// A bad $MALLCOO_BASE_URL is named.
	if code, _, stderr := cli(t, map[string]string{"MALLCOO_BASE_URL": "mallcoo"}, "config"); code != crmsync.ExitFailed || !strings.Contains(stderr, "MALLCOO_BASE_URL") {
		t.Errorf("crmsync config with MALLCOO_BASE_URL=mallcoo: exit %d, stderr %q: want 1 naming the variable", code, stderr)
	}
	// Flags are checked as run checks them: usage errors.
	for _, args := range [][]string{
		{"config", "-concurrency", "0"},
		{"config", "-rate", "-1"},
		{"config", "-lang", "fr"},
		{"config", "-encoding", "latin1"},
		{"config", "-base-url", "nope"},
		{"config", "-timeout", ""},
		{"config", "samples/"},
		{"run", "-rate", "NaN", "samples/"},
		{"plan", "-lang", "", "samples/"},
		{"retry", "-retries", "-1"},
		{"apply", "-timeout", "0s", "1"},
		{"reconcile", "-encoding", "latin1", "samples/"},
	} {
		if code, _, stderr := cli(t, nil, args...); code != crmsync.ExitUsage || !strings.Contains(stderr, args[1]+": want") && args[1] != "samples/" {
			t.Errorf("crmsync %q: exit %d, stderr %q: want %d naming the flag and what it takes", args, code, stderr, crmsync.ExitUsage)
		}
	}
}

// TestConfigEncodings: the config and -encoding take every encoding the
// reader takes, its aliases (cp936, gb2312) included.
func TestConfigEncodings(t *testing.T) {
	for _, enc := range []string{"cp936", "gb2312", "UTF-8"} {
		if c := configJSON(t, nil, "-config", writeConfig(t, "encoding = \""+enc+"\"\n")); c.Encoding != enc || c.Sources["encoding"] != "config file" {
			t.Errorf("config -json with encoding = %q: encoding %q from %q, want it from the config file", enc, c.Encoding, c.Sources["encoding"])
		}
		if c := configJSON(t, nil, "-encoding", enc); c.Encoding != enc {
			t.Errorf("config -json -encoding %s: encoding %q", enc, c.Encoding)
		}
	}
}

// TestConfigText: the text form lists every setting, mappings included,
// with its source.
func TestConfigText(t *testing.T) {
	file := writeConfig(t, "concurrency = 4\n[mappings.paytype]\n\"微信\" = 12\n\"支付宝\" = 6\n")
	code, stdout, stderr := cli(t, map[string]string{"MALLCOO_APP_ID": "app"}, "config", "-config", file, "-retries", "1")
	if code != crmsync.ExitOK {
		t.Fatalf("crmsync config: exit %d\n%s", code, stderr)
	}
	for _, w := range []string{"base_url", mallcoo.DefaultBaseURL, "concurrency", "(config file)", "(flag -retries)", "mappings.PayType", "微信=12", "支付宝=6",
		"credentials.app_id", "(env MALLCOO_APP_ID)", "credentials.private_key", "missing"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("crmsync config: stdout lacks %q:\n%s", w, stdout)
		}
	}
}

// TestMappingTables: a mall's word in the 支付方式 column becomes the
// PayType code its config maps it to; without the table the row is invalid
// and the PayType column is named.
func TestMappingTables(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	csv := "交易ID,会员卡号ID,积分事件,消费时间,消费金额,消费商户,积分值,支付方式\n" +
		"TM0001,0201710000001,1,2024-11-01 10:05:03,128.50,S0012,128,微信\n"
	if err := os.WriteFile(filepath.Join(in, "2024-11-01_score.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("mapped", func(t *testing.T) {
		srv := mallcootest.NewServer(mallcootest.Options{})
		defer srv.Close()
		dir := t.TempDir()
		file := writeConfig(t, "[mappings.PayType]\n\"微信\" = 12\n\"支付宝\" = 6\n")
		code, stdout, stderr := cli(t, sandboxEnv(srv), "run", "-json", "-config", file, "-ledger", filepath.Join(dir, "l.db"), "-report", filepath.Join(dir, "r.xlsx"), in)
		if code != crmsync.ExitOK {
			t.Fatalf("run with [mappings.PayType]: exit %d, want 0\n%s\n%s", code, stdout, stderr)
		}
		got := srv.Delivered(crmsync.KindScore)
		if len(got) != 1 || !strings.Contains(string(got[0].Body), `"PayType":12`) {
			var bodies []string
			for _, r := range got {
				bodies = append(bodies, string(r.Body))
			}
			t.Errorf("delivered score bodies = %q, want one with \"PayType\":12", bodies)
		}
	})

	t.Run("unmapped", func(t *testing.T) {
		srv := mallcootest.NewServer(mallcootest.Options{})
		defer srv.Close()
		dir := t.TempDir()
		db := filepath.Join(dir, "l.db")
		code, stdout, stderr := cli(t, sandboxEnv(srv), "run", "-json", "-ledger", db, "-report", filepath.Join(dir, "r.xlsx"), in)
		if code != crmsync.ExitNeedsPerson {
			t.Fatalf("run without a mapping: exit %d, want %d\n%s", code, crmsync.ExitNeedsPerson, stderr)
		}
		s := decodeSummary(t, stdout)
		if s.Counts[crmsync.OutcomeInvalid] != 1 || len(srv.Requests()) != 0 {
			t.Fatalf("run without a mapping: counts %v, %d requests: want 1 invalid, none sent", s.Counts, len(srv.Requests()))
		}
		ctx := context.Background()
		l, err := ledger.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		var cols []string
		err = l.Results(ctx, s.RunID, crmsync.KindScore, func(r *crmsync.Result) error {
			if r.Outcome == crmsync.OutcomeInvalid {
				cols = append(cols, r.Column+" | "+r.Reason)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Results: %v", err)
		}
		if len(cols) != 1 || !(strings.Contains(cols[0], "PayType") || strings.Contains(cols[0], "支付方式")) {
			t.Errorf("invalid row's column | reason = %q, want it to name PayType (支付方式)", cols)
		}
	})
}

// TestVersion: `crmsync version` prints the version, the commit and the Go
// version.
func TestVersion(t *testing.T) {
	code, stdout, stderr := cli(t, nil, "version")
	if code != crmsync.ExitOK {
		t.Fatalf("crmsync version: exit %d\n%s", code, stderr)
	}
	line := strings.TrimSpace(stdout)
	if !strings.HasPrefix(line, "crmsync ") || strings.Count(stdout, "\n") != 1 {
		t.Errorf("crmsync version = %q, want one line starting with \"crmsync \"", stdout)
	}
	if !strings.Contains(line, "(commit ") {
		t.Errorf("crmsync version = %q, want the commit", line)
	}
	if !strings.Contains(line, ", go1.") {
		t.Errorf("crmsync version = %q, want the Go version (go1.…)", line)
	}
	old := version
	version = "v1.2.3"
	defer func() { version = old }()
	if _, stdout, _ := cli(t, nil, "version"); !strings.HasPrefix(stdout, "crmsync v1.2.3 (commit ") {
		t.Errorf("crmsync version with -X main.version=v1.2.3 = %q, want it to start with \"crmsync v1.2.3 (commit \"", stdout)
	}
}

// TestREADMEConfigExample: the config file shown in README.md is one
// crmsync accepts, mappings included.
func TestREADMEConfigExample(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```toml\n")
	if !ok {
		t.Fatal("README.md has no ```toml block")
	}
	example, _, _ := strings.Cut(rest, "```")
	c := configJSON(t, nil, "-config", writeConfig(t, example))
	if c.Mappings["PayType"]["微信"] != 12 || c.Concurrency != 8 || c.Rate != 50 {
		t.Errorf("README example: mappings %v concurrency %d rate %v, want PayType 微信=12, 8, 50", c.Mappings, c.Concurrency, c.Rate)
	}
}

// TestRowSettings: [kinds.score] required and strict_datetime reach the
// reader of run and plan; config shows them.
func TestRowSettings(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "score.csv")
	os.WriteFile(in, []byte("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,TradeSerialNo,PosID,Score\n"+
		"T1,C1,1,2024-11-01 10:00:00,10,S1,N1,P1,10\n"+
		"T2,C1,1,2024-11-01 11:00:00,10,S1,N2,,10\n"+
		"T3,C1,1,2024-11-01,10,S1,N3,P3,10\n"), 0o644)
	plan := func(conf string) jsonSummary {
		t.Helper()
		args := []string{"plan", "-json", "-ledger", filepath.Join(t.TempDir(), "l.db"), "-report", filepath.Join(t.TempDir(), "r.xlsx")}
		if conf != "" {
			args = append(args, "-config", writeConfig(t, conf))
		}
		_, stdout, stderr := cli(t, nil, append(args, in)...)
		if stdout == "" {
			t.Fatalf("plan printed nothing:\n%s", stderr)
		}
		return decodeSummary(t, stdout)
	}
	if s := plan(""); s.Counts[crmsync.OutcomeNew] != 3 {
		t.Errorf("plan without settings: counts %v, want 3 new", s.Counts)
	}
	conf := "strict_datetime = true\n[kinds.score]\nrequired = [\"TradeSerialNo\", \"PosID\"]\n"
	if s := plan(conf); s.Counts[crmsync.OutcomeNew] != 1 || s.Counts[crmsync.OutcomeInvalid] != 2 {
		t.Errorf("plan with PosID required and strict_datetime: counts %v, want 1 new, 2 invalid", s.Counts)
	}
	c := configJSON(t, nil, "-config", writeConfig(t, conf))
	if !c.StrictDateTime || strings.Join(c.Required["score"], ",") != "TradeSerialNo,PosID" {
		t.Errorf("config -json: strict_datetime %v, required %v; want true and score TradeSerialNo,PosID", c.StrictDateTime, c.Required)
	}
}

// FuzzLoadConfig: whatever the file holds, loadConfig returns a config or
// a *configError, and never panics.
func FuzzLoadConfig(f *testing.F) {
	for _, s := range []string{
		"concurrency = 4\n", "[mappings.PayType]\n\"\" = 1\n", "x.y = 1\n", "[[notify]]\ntype = \"wecom\"\n",
		"[kinds.score]\nrequired = [\"PosID\", 5]\n", "credentials = { private_key = 1 }\n", "[Credentials]\n",
		"mappings.PayType = { \"微信\" = 1.5 }\n", "notify = []\n", "[[mappings]]\na = 1\n", "timeout = \"\"\n",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		p := filepath.Join(dir, "c.toml")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		var ce *configError
		if _, err := loadConfig(p); err != nil && !errors.As(err, &ce) {
			t.Errorf("loadConfig(%q) = %v, want a *configError", text, err)
		}
	})
}

// TestConfigEverySetting: crmsync config's text and -json output, over a
// file with every setting, with the environment and flags over it, and
// with none, are those of testdata/config-every-setting.golden.
func TestConfigEverySetting(t *testing.T) {
	const file = "testdata/every-setting.toml"
	var out strings.Builder
	for _, c := range []struct {
		vars map[string]string
		args []string
	}{
		{nil, []string{"-config", file}},
		{map[string]string{"MALLCOO_BASE_URL": "https://env.example", "MALLCOO_APP_ID": "app-env", "MALLCOO_PRIVATE_KEY": "PRIVATE-never-shown"},
			[]string{"-config", file, "-concurrency", "2", "-rate", "0", "-timeout", "1m30s", "-retries", "0", "-lang", "zh", "-encoding", "cp936", "-ledger", "flag.db", "-report", "r.xlsx"}},
		{map[string]string{"CRMSYNC_CONFIG": file}, []string{"-sandbox"}},
		{nil, nil},
	} {
		for _, mode := range [][]string{nil, {"-json"}} {
			args := append(append([]string{"config"}, mode...), c.args...)
			code, stdout, stderr := cli(t, c.vars, args...)
			if code == crmsync.ExitOK {
				stderr = "" // warnings (a key file git checked out readable by others)
			}
			fmt.Fprintf(&out, "$ %v crmsync %s\nexit %d\n%s%s\n", sortedKeys(c.vars), strings.Join(args, " "), code, stdout, stderr)
		}
	}
	golden(t, "testdata/config-every-setting.golden", out.String())
}
