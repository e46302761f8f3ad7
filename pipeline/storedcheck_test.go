package pipeline_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/mallcoo"
)

// storedAgrees checks that CheckBody (which retry, apply and the backlog
// ask before sending a body the ledger kept) accepts the body of every row
// today's reader finds valid in path: a refusal of one would be a false
// stored-body, an event stuck for ever. It returns how many bodies it
// checked.
func storedAgrees(t *testing.T, rd *importer.Reader, path string) int {
	t.Helper()
	n := 0
	_, err := rd.ReadFile(context.Background(), path, func(r *crmsync.Row) error {
		if r.Problem != nil || r.Event == nil {
			return nil
		}
		n++
		if err := mallcoo.CheckBody(r.Kind, mallcoo.WireBody(r.Kind, r.Event.Body)); err != nil {
			t.Errorf("%s: the reader sends %s %s, CheckBody of it stored refuses it: %v", r.Source, r.Kind, r.Event.Body, err)
		}
		return nil
	})
	if err != nil {
		t.Errorf("read %s: %v", path, err)
	}
	return n
}

// TestStoredBodyCheckAgreesWithReader: every valid row of every sample,
// template and fixture file, read as today's crmsync reads it (and with a
// date alone accepted, strict_datetime off), makes a body CheckBody
// accepts once stored.
func TestStoredBodyCheckAgreesWithReader(t *testing.T) {
	var files []string
	filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "bench" || strings.HasPrefix(d.Name(), ".")) && p != ".." {
			return filepath.SkipDir
		}
		if ext := strings.ToLower(filepath.Ext(p)); !d.IsDir() && (ext == ".csv" || ext == ".xlsx") {
			files = append(files, p)
		}
		return nil
	})
	total := 0
	for _, rd := range []*importer.Reader{{}, {StrictDateTime: true}} {
		for _, p := range files {
			total += storedAgrees(t, rd, p)
		}
	}
	t.Logf("%d bodies of %d files checked", total, len(files))
	if len(files) < 10 || total < 50 {
		t.Fatalf("checked %d bodies of %d files: want the samples and fixtures found", total, len(files))
	}
}

// FuzzStoredBodyCheck: a score row (the kind with the most rules: money,
// return 2101, times) that the reader takes as valid makes a body
// CheckBody accepts once stored.
func FuzzStoredBodyCheck(f *testing.F) {
	for _, s := range []string{
		"T1,C0000001,1,2024-11-01 10:00:00,12.34,S1,12,,",
		"T2,C0000001,2101,2024-11-01 10:00:00,-12.34,S1,-12,2024-11-02 10:00:00,12.34",
		"T3,C0000001,1,2024/11/1 10:05:03,\"1,280.50\",S0012,1280,,",
		"T4,C0000001,1,9999-12-31 23:59:59.4,0.01,S1,0,,",
		"T5,C0000001,1,2024-11-01,1e2,S1,100,,",
		"T6,C0000001,1,2024-11-01 10:00:00, 99.9 ,S1,99,,",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\r\n\x00") {
			return
		}
		p := filepath.Join(dir, "score.csv")
		if err := os.WriteFile(p, []byte("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score,ReturnTime,ReturnAmount\n"+line+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		storedAgrees(t, &importer.Reader{}, p)
	})
}
