package report

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/crmsync/crmsync"
)

// TestWriteRefusesForeignTargets: Write replaces its own earlier output
// but never a directory, a device, or a file crmsync did not write.
func TestWriteRefusesForeignTargets(t *testing.T) {
	s, src := testRun()
	dir := t.TempDir()
	own := filepath.Join(dir, "run.xlsx")
	if _, err := Write(context.Background(), own, s, src, Options{}); err != nil {
		t.Fatalf("Write() = %v", err)
	}
	if ok, err := Owned(own); !ok || err != nil {
		t.Fatalf("Owned(report) = %v, %v; want true", ok, err)
	}
	if _, err := Write(context.Background(), own, s, src, Options{}); err != nil {
		t.Errorf("Write() over its own report = %v, want nil", err)
	}

	csv := filepath.Join(dir, "export.csv")
	os.WriteFile(csv, []byte("TransID\nT1\n"), 0o644)
	saved := filepath.Join(dir, "saved.xlsx") // a workbook a person made or saved
	f := excelize.NewFile()
	f.SetDocProps(&excelize.DocProperties{Creator: "crmsync", LastModifiedBy: "张三", Title: "crmsync run report"})
	f.SaveAs(saved)
	tmpls, err := Templates(filepath.Join(dir, "templates"), []crmsync.Kind{crmsync.KindScore}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tmpl := tmpls[0]
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	for _, tc := range []struct {
		path string
		want TargetProblem
	}{
		{csv, TargetForeign},
		{saved, TargetForeign},
		{tmpl, TargetForeign},
		{filepath.Join(dir, "sub"), TargetDirectory},
		{"/dev/null", TargetNotRegular},
	} {
		before, _ := os.ReadFile(tc.path)
		_, err := Write(context.Background(), tc.path, s, src, Options{})
		var te *TargetError
		if !errors.As(err, &te) || te.Problem != tc.want {
			t.Errorf("Write(%s) = %v, want *TargetError problem %d", tc.path, err, tc.want)
		}
		if after, _ := os.ReadFile(tc.path); string(after) != string(before) {
			t.Errorf("Write(%s) changed the file", tc.path)
		}
	}
	// The problems workbook beside the report is checked too.
	os.Remove(own)
	os.WriteFile(ProblemsPath(own), []byte("mine"), 0o644)
	var te *TargetError
	if _, err := Write(context.Background(), own, s, src, Options{}); !errors.As(err, &te) || te.Path != ProblemsPath(own) {
		t.Errorf("Write() with a foreign file at the problems path = %v, want *TargetError for it", err)
	}
}

// cancelSource yields n score results and cancels when it has given the
// last one: what is left of Write is closing the sheets and zipping.
type cancelSource struct {
	n      int
	cancel context.CancelFunc
}

func (c cancelSource) Results(ctx context.Context, runID int64, kind crmsync.Kind, fn func(*crmsync.Result) error) error {
	if kind != crmsync.KindScore {
		return nil
	}
	for i := 1; i <= c.n; i++ {
		r := &crmsync.Result{Seq: int64(i), Kind: kind, Key: fmt.Sprintf("T%06d", i), Outcome: crmsync.OutcomeSent,
			Source: crmsync.SourceRef{File: "in.csv", Row: i + 1}, Values: scoreValues(fmt.Sprintf("T%06d", i), "0123", "10.00", "10")}
		if err := fn(r); err != nil {
			return err
		}
	}
	c.cancel()
	return nil
}

// TestWriteCancelledWhileSaving: a cancel after the last row is read stops
// Write before the workbook is zipped and renamed: Write returns
// context.Canceled and leaves no file.
func TestWriteCancelledWhileSaving(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := crmsync.NewSummary(1, "run", time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	s.Rows = 20000
	dir := t.TempDir()
	_, err := Write(ctx, filepath.Join(dir, "run.xlsx"), s, cancelSource{n: 20000, cancel: cancel}, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Write() cancelled after the last row = %v, want context.Canceled", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("cancelled Write left %d files", len(entries))
	}
}
