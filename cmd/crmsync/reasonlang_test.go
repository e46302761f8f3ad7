package main

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

// TestReasonsInTheRunsLanguage: every reason a run gives (a duplicate, a
// row changed since sent, a sheet skipped) is shown in the run's language,
// never as "中文 / English"; the ledger keeps the reason's code.
func TestReasonsInTheRunsLanguage(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "l.db")
	in := filepath.Join(dir, "in", "2024-11-01_score.csv")
	os.MkdirAll(filepath.Dir(in), 0o755)
	night := func(amount string) {
		os.WriteFile(in, []byte("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score\n"+
			"T1,0201710000001,1,2024-11-01 10:00:00,10,S1,10\n"+
			"T1,0201710000001,1,2024-11-01 10:00:00,10,S1,10\n"+
			"T2,0201710000002,1,2024-11-01 11:00:00,"+amount+",S1,20\n"), 0o644)
	}
	run := func(lang string) (reasons map[string]string, stderr string) {
		res := filepath.Join(dir, lang+".csv")
		code, _, stderr := cli(t, sandboxEnv(srv), "run", "-lang", lang, "-ledger", db, "-report", filepath.Join(dir, lang+".xlsx"), "-results", res, in)
		if code != crmsync.ExitNeedsPerson {
			t.Fatalf("run -lang %s: exit %d, want 3 (a duplicate)\n%s", lang, code, stderr)
		}
		f, err := os.Open(res)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		lines, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		reasons = map[string]string{}
		for _, l := range lines[1:] { // file,sheet,row,kind,key,outcome,cause_code,column,reason,…
			reasons[l[4]+" "+l[5]] = l[8]
			if strings.Contains(l[8], " / ") {
				t.Errorf("run -lang %s: reason of %s %s in both languages: %q", lang, l[4], l[5], l[8])
			}
		}
		return reasons, stderr
	}
	night("20")
	zh, _ := run("zh")
	if r := zh["T1 duplicate"]; !strings.HasPrefix(r, "与 ") || !strings.HasSuffix(r, ":2 的键重复,以第一行为准") {
		t.Errorf("run -lang zh: the duplicate's reason %q", r)
	}
	night("25") // T2 changed since sent
	en, _ := run("en")
	if r := en["T1 duplicate"]; !strings.HasPrefix(r, "same key as ") || !strings.HasSuffix(r, ":2; the first one wins") {
		t.Errorf("run -lang en: the duplicate's reason %q", r)
	}
	if r := en["T2 changed"]; r != "sent before with other content; not resent, compare old and new" {
		t.Errorf("run -lang en: the changed row's reason %q", r)
	}

	l, err := ledger.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	codes := map[string]string{}
	l.Results(context.Background(), 2, "", func(r *crmsync.Result) error {
		codes[r.Key+" "+string(r.Outcome)] = r.ReasonCode()
		return nil
	})
	if codes["T1 duplicate"] != crmsync.ReasonDuplicateKey || codes["T2 changed"] != crmsync.ReasonSentOther {
		t.Errorf("run 2's reason codes %v, want %s and %s", codes, crmsync.ReasonDuplicateKey, crmsync.ReasonSentOther)
	}

	// reconcile's summary in the terminal.
	for lang, want := range map[string][2]string{"zh": {"需要人工处理", "matched"}, "en": {"needs a person", "一致"}} {
		_, _, stderr := cli(t, nil, "reconcile", "-lang", lang, "-ledger", db, "-report", filepath.Join(dir, lang+"-rec.xlsx"), in)
		if !strings.Contains(stderr, want[0]) || strings.Contains(stderr, want[1]) {
			t.Errorf("reconcile -lang %s: want %q, not %q:\n%s", lang, want[0], want[1], stderr)
		}
	}

	// A file's note (the samples' instructions sheet) in the terminal.
	for lang, want := range map[string][2]string{"zh": {"说明页,未读取", "instructions"}, "en": {"instructions, not read", "说明页"}} {
		_, _, stderr := cli(t, nil, "run", "-sandbox", "-lang", lang, "-ledger", filepath.Join(dir, lang+"-samples.db"), "-report", filepath.Join(dir, lang+"-samples.xlsx"), samplesDir(t))
		if !strings.Contains(stderr, "[说明]") || !strings.Contains(stderr, want[0]) || strings.Contains(stderr, want[1]) {
			t.Errorf("run -sandbox -lang %s over the samples: the skipped sheet's note is not %q alone:\n%s", lang, want[0], stderr)
		}
	}
}
