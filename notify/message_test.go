package notify

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestRenderGolden renders notices of every ending in zh and en, as plain
// text (email, Feishu) and markdown (WeCom, DingTalk), and compares them
// with testdata/*.golden (refresh with go test ./notify -update).
func TestRenderGolden(t *testing.T) {
	failed := func(lang string) crmsync.Notice {
		return crmsync.Notice{Mall: "万象城", Command: "run", ExitCode: 1, Lang: lang,
			Causes:   []crmsync.Cause{{Text: "猫酷拒绝了签名 (Code 30018)", Fix: "检查 MALLCOO_APP_ID 和私钥"}},
			Started:  time.Date(2026, 12, 1, 2, 0, 0, 0, time.FixedZone("CST", 8*3600)),
			Duration: 1500 * time.Millisecond}
	}
	ok := func(lang string) crmsync.Notice {
		n := sampleNotice(lang)
		n.ExitCode, n.Causes, n.Problems = 0, nil, ""
		n.Counts = map[crmsync.Outcome]int{crmsync.OutcomeSent: 1200, crmsync.OutcomeUnchanged: 10}
		return n
	}
	interrupted := func(lang string) crmsync.Notice {
		n := sampleNotice(lang)
		n.ExitCode = 130
		n.Command = "retry"
		return n
	}
	test := func(lang string) crmsync.Notice {
		return Test("万象城", lang, time.Date(2026, 12, 1, 10, 0, 0, 0, time.FixedZone("CST", 8*3600)))
	}
	for name, make := range map[string]func(string) crmsync.Notice{
		"problems": sampleNotice, "failed": failed, "ok": ok, "interrupted": interrupted, "test": test,
	} {
		for _, lang := range []string{"zh", "en"} {
			n := make(lang)
			plainText, _ := render(n, plain, -1)
			md, _ := render(n, markdown, -1)
			got := "title: " + title(n) + "\n\n--- plain\n" + plainText + "\n--- markdown\n" + md
			golden(t, name+"-"+lang, got)
		}
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./notify -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

// TestRenderKeepsCausesOnOneLine: a cause's line ends cannot break the
// message's layout, and an overlong cause is cut.
func TestRenderKeepsCausesOnOneLine(t *testing.T) {
	n := sampleNotice("zh")
	n.Causes = []crmsync.Cause{{Text: "第一行\n### 假标题\r\n" + strings.Repeat("长", 500), Count: 1}}
	body, _ := render(n, markdown, -1)
	if strings.Contains(body, "\n### 假标题") {
		t.Errorf("a cause's line end reached the message:\n%s", body)
	}
	if strings.Contains(body, strings.Repeat("长", 200)) {
		t.Errorf("an overlong cause was not cut")
	}
}

func TestDingTalkLineBreaks(t *testing.T) {
	body, _ := render(sampleNotice("zh"), dingMD, -1)
	for _, l := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		if l != "" && !strings.HasSuffix(l, "  ") {
			t.Errorf("DingTalk line %q does not end in two spaces (DingTalk joins it with the next)", l)
		}
	}
}

func TestFromSummary(t *testing.T) {
	start := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	s := crmsync.NewSummary(7, "run", start)
	s.Add(crmsync.KindScore, crmsync.OutcomeSent)
	s.Add(crmsync.KindScore, crmsync.OutcomeInvalid)
	s.Report, s.Problems, s.Ended = "r.xlsx", "p.xlsx", start.Add(90*time.Second)
	causes := []crmsync.Cause{{Text: "x", Count: 1}}
	got := FromSummary("M", "en", s, s.ExitCode(), causes)
	want := crmsync.Notice{Mall: "M", Lang: "en", Command: "run", RunID: 7, ExitCode: 3, Rows: 2,
		Counts: s.Counts, ByKind: s.ByKind, Causes: causes, Report: "r.xlsx", Problems: "p.xlsx",
		Started: start, Duration: 90 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FromSummary (-want +got):\n%s", diff)
	}
	if got := FromSummary("M", "zh", nil, 1, nil); got.ExitCode != 1 || got.RunID != 0 {
		t.Errorf("FromSummary(nil summary) = %+v", got)
	}
}
