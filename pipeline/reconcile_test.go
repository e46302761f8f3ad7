package pipeline_test

import (
	"testing"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/pipeline"
)

// TestTiesOut: a reconciliation ties out with matched and skipped rows
// only, and not with one row of a category that needs a person or one file
// not read.
func TestTiesOut(t *testing.T) {
	ok := map[crmsync.Category]int{crmsync.CategoryMatched: 3, crmsync.CategorySkipped: 1, crmsync.CategoryMissing: 0}
	if r := (&pipeline.Reconciled{Counts: ok}); !r.TiesOut() {
		t.Errorf("Reconciled{Counts: %v}.TiesOut() = false, want true", ok)
	}
	for _, c := range []crmsync.Category{crmsync.CategoryMismatched, crmsync.CategoryMissing, crmsync.CategoryOrphan, crmsync.CategoryInvalid} {
		counts := map[crmsync.Category]int{crmsync.CategoryMatched: 3, c: 1}
		if r := (&pipeline.Reconciled{Counts: counts}); r.TiesOut() {
			t.Errorf("Reconciled{Counts: %v}.TiesOut() = true, want false", counts)
		}
	}
	r := &pipeline.Reconciled{Counts: ok, Files: []crmsync.FileSummary{{Path: "a.csv"}, {Path: "b.xls", Problem: crmsync.Say("旧版 .xls", "old .xls")}}}
	if r.TiesOut() {
		t.Errorf("TiesOut() with a file problem = true, want false")
	}
}
