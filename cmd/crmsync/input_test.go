package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

// TestHostileInput: a folder of exports beside bad files (a FIFO through a
// symbolic link, an empty export, a BOM in front of GBK text, a file over
// the config's row cap) is read to the end: each bad file is a file problem
// with its code, the good rows go, and the run exits 3.
func TestHostileInput(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.MkdirAll(in, 0o755)
	score := "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score\r\n" +
		"Q-1,0201710000001,1,2024-11-01 10:00:00,100.00,S0012,10\r\n" +
		"Q-2,0201710000002,1,2024-11-01 10:01:00,200.00,S0012,20\r\n" +
		"Q-3,0201710000003,1,2024-11-01 10:02:00,300.00,S0012,30\r\n"
	os.WriteFile(filepath.Join(in, "2024-11-01_score.csv"), []byte(score), 0o644)
	os.WriteFile(filepath.Join(in, "2024-11-01_bonus.csv"), nil, 0o644)
	os.WriteFile(filepath.Join(in, "2024-11-01_invalid.csv"), []byte("\ufeffRefID,BonusAction,Desc\r\nR1,4,\xb2\xe2\xca\xd4\r\n"), 0o644) // 测试 in GBK
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Symlink(fifo, filepath.Join(in, "2024-11-01_grade.csv"))
	cfg := writeConfig(t, "max_rows_per_file = 2\nmax_cell_bytes = 1024\n")

	code, stdout, stderr := cli(t, sandboxEnv(srv), "run", "-json", "-config", cfg, "-ledger", filepath.Join(dir, "l.db"), "-report", filepath.Join(dir, "r.xlsx"), in)
	if code != crmsync.ExitNeedsPerson {
		t.Fatalf("run: exit %d, want %d\n%s", code, crmsync.ExitNeedsPerson, stderr)
	}
	var s struct {
		Counts map[crmsync.Outcome]int `json:"counts"`
		Files  []crmsync.FileSummary   `json:"files"`
	}
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("-json output: %v\n%s", err, stdout)
	}
	type file struct {
		Name string
		Rows int
		Code string
	}
	var got []file
	for _, f := range s.Files {
		got = append(got, file{filepath.Base(f.Path), f.Rows, f.Code})
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Name < got[j].Name })
	want := []file{
		{"2024-11-01_bonus.csv", 0, importer.ProblemEmpty},
		{"2024-11-01_grade.csv", 0, importer.ProblemNotRegular},
		{"2024-11-01_invalid.csv", 0, importer.ProblemEncoding},
		{"2024-11-01_score.csv", 2, importer.ProblemTooManyRows},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("run: files (-want +got):\n%s", diff)
	}
	var sent []string
	for _, r := range srv.Delivered(crmsync.KindScore) {
		sent = append(sent, string(r.Body))
	}
	if len(sent) != 2 || !strings.Contains(sent[0]+sent[1], `"TransID":"Q-1"`) || !strings.Contains(sent[0]+sent[1], `"TransID":"Q-2"`) {
		t.Errorf("run: delivered %q, want Q-1 and Q-2", sent)
	}
	if s.Counts[crmsync.OutcomeSent] != 2 {
		t.Errorf("run: counts %v, want 2 sent", s.Counts)
	}
}

// TestConfigCaps: the caps are whole numbers of 1 or more.
func TestConfigCaps(t *testing.T) {
	for _, text := range []string{"max_rows_per_file = 0\n", "max_cell_bytes = -1\n", "max_cell_bytes = \"64k\"\n"} {
		code, _, stderr := cli(t, nil, "config", "-config", writeConfig(t, text))
		key, _, _ := strings.Cut(text, " ")
		if code != crmsync.ExitFailed || !strings.Contains(stderr, key) || !strings.Contains(stderr, "line 1") {
			t.Errorf("crmsync config with %q: exit %d, want 1 and a message naming %s on line 1\n%s", text, code, key, stderr)
		}
	}
	c := configJSON(t, nil, "-config", writeConfig(t, "max_rows_per_file = 10\nmax_cell_bytes = 100\n"))
	if c.MaxRowsPerFile != 10 || c.MaxCellBytes != 100 || c.Sources["max_rows_per_file"] != "config file" || c.Sources["max_cell_bytes"] != "config file" {
		t.Errorf("crmsync config -json with caps: %d, %d from %q, %q; want 10, 100 from the config file", c.MaxRowsPerFile, c.MaxCellBytes, c.Sources["max_rows_per_file"], c.Sources["max_cell_bytes"])
	}
	c = configJSON(t, nil)
	if c.MaxRowsPerFile != importer.DefaultMaxRowsPerFile || c.MaxCellBytes != importer.DefaultMaxCellBytes || c.Sources["max_cell_bytes"] != "default" {
		t.Errorf("crmsync config -json: caps %d, %d from %q; want the defaults", c.MaxRowsPerFile, c.MaxCellBytes, c.Sources["max_cell_bytes"])
	}
}
