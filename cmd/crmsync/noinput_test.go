package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
	"github.com/xuri/excelize/v2"
)

// TestNoInputIsAProblem: a night whose export folder is empty, or holds no
// CSV or XLSX file, exits 3 with a file problem naming the folder, in -json
// and in the report; -allow-empty makes such a night exit 0.
func TestNoInputIsAProblem(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	empty := t.TempDir()
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "export.log"), []byte("export failed\n"), 0o644)
	os.WriteFile(filepath.Join(other, "~$score.xlsx"), []byte("lock"), 0o644)
	for _, dir := range []string{empty, other} {
		for _, cmd := range []string{"run", "plan"} {
			out := t.TempDir()
			code, stdout, stderr := cli(t, sandboxEnv(srv), cmd, "-json", "-ledger", filepath.Join(out, "l.db"), "-report", filepath.Join(out, "r.xlsx"), dir)
			if code != crmsync.ExitNeedsPerson {
				t.Errorf("%s on a folder without input: exit %d, want 3\n%s", cmd, code, stderr)
			}
			var s struct {
				Files []crmsync.FileSummary `json:"files"`
			}
			if err := json.Unmarshal([]byte(stdout), &s); err != nil {
				t.Fatal(err)
			}
			if len(s.Files) != 1 || s.Files[0].Path != dir || s.Files[0].Code != "no-input" || !strings.Contains(s.Files[0].Problem.String(), "没有找到导入文件") {
				t.Errorf("%s -json files = %+v, want one problem naming %s", cmd, s.Files, dir)
			}
			if !strings.Contains(cellsOf(t, filepath.Join(out, "r.xlsx")), "没有找到导入文件") {
				t.Errorf("%s: the report does not show the problem", cmd)
			}

			code, stdout, stderr = cli(t, sandboxEnv(srv), cmd, "-json", "-allow-empty", "-ledger", filepath.Join(out, "l.db"), "-report", filepath.Join(out, "r2.xlsx"), dir)
			if code != crmsync.ExitOK || strings.Contains(stdout, "没有找到导入文件") {
				t.Errorf("%s -allow-empty on a folder without input: exit %d, want 0\n%s%s", cmd, code, stdout, stderr)
			}
		}
	}
}

// cellsOf returns every cell of every sheet of a workbook, one per line.
func cellsOf(t *testing.T, path string) string {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	var b strings.Builder
	for _, sh := range f.GetSheetList() {
		rows, err := f.GetRows(sh)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			for _, c := range r {
				b.WriteString(c)
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}

// TestHeaderOnlyNight: a CRM that exports a header and no rows on a quiet
// night: exit 3 (check the export) unless -allow-empty, where the file is
// listed as skipped; a 0-byte file stays a problem either way.
func TestHeaderOnlyNight(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.Mkdir(in, 0o755)
	os.WriteFile(filepath.Join(in, "grade.csv"), []byte("\ufeffThirdPartyCardID,BeforeCardCode,AfterCardCode,ChangeType,ChangeTime\r\n"), 0o644)
	for _, c := range []struct {
		flags []string
		code  int
	}{{nil, 3}, {[]string{"-allow-empty"}, 0}} {
		args := append(append([]string{"plan", "-json", "-ledger", filepath.Join(dir, "l.db"), "-report", filepath.Join(t.TempDir(), "p.xlsx")}, c.flags...), in)
		code, stdout, stderr := cli(t, nil, args...)
		if code != c.code {
			t.Errorf("plan %v over a header-only file: exit %d, want %d\n%s%s", c.flags, code, c.code, stdout, stderr)
		}
	}
	os.WriteFile(filepath.Join(in, "bonus.csv"), nil, 0o644)
	if code, _, stderr := cli(t, nil, "plan", "-allow-empty", "-ledger", filepath.Join(dir, "l.db"), "-report", filepath.Join(t.TempDir(), "p.xlsx"), in); code != 3 {
		t.Errorf("plan -allow-empty with a 0-byte file: exit %d, want 3\n%s", code, stderr)
	}
}
