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
			if len(s.Files) != 1 || s.Files[0].Path != dir || !strings.Contains(s.Files[0].Problem, "没有找到导入文件") {
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
