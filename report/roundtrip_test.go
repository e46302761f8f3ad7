package report

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/mallcoo"
)

// A template filled with the spec's examples reads back through the
// importer as one valid event of its kind (and, for score-v2, its list
// sheets join the main row).
func TestTemplatesReadBack(t *testing.T) {
	dir := t.TempDir()
	paths, err := Templates(dir, nil, Options{})
	if err != nil {
		t.Fatalf("Templates: %v", err)
	}
	for _, p := range paths {
		if filepath.Ext(p) != ".xlsx" {
			continue
		}
		k := crmsync.Kind(stripExt(filepath.Base(p)))
		spec := mallcoo.SpecOf(k)
		f, err := excelize.OpenFile(p)
		if err != nil {
			t.Fatal(err)
		}
		example := func(fields []mallcoo.Field) []any {
			row := make([]any, len(fields))
			for i, fd := range fields {
				row[i] = fd.Example
			}
			return row
		}
		main := example(spec.Fields)
		if err := f.SetSheetRow(string(k), "A2", &main); err != nil {
			t.Fatal(err)
		}
		for _, it := range items(spec) {
			row := append([]any{spec.Fields[0].Example}, example(it.Fields)...)
			if err := f.SetSheetRow(it.Sheet, "A2", &row); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Save(); err != nil {
			t.Fatal(err)
		}
		f.Close()

		var rows []*crmsync.Row
		sums, err := (&importer.Reader{}).ReadFile(context.Background(), p, func(r *crmsync.Row) error {
			rows = append(rows, r)
			return nil
		})
		if err != nil {
			t.Fatalf("ReadFile(%s): %v", p, err)
		}
		for _, s := range sums {
			if !s.Problem.IsZero() {
				t.Errorf("%s sheet %q: %s", filepath.Base(p), s.Sheet, s.Problem)
			}
		}
		if len(rows) != 1 {
			t.Errorf("%s: read %d rows, want 1", filepath.Base(p), len(rows))
			continue
		}
		r := rows[0]
		if r.Kind != k || r.Problem != nil {
			t.Errorf("%s: row kind %s, problem %v; want %s without problem", filepath.Base(p), r.Kind, r.Problem, k)
		}
		if k == crmsync.KindScoreV2 && r.Event != nil {
			var got struct{ ConsumePromotionList, ConsumePayList []map[string]any }
			if err := json.Unmarshal(r.Event.Body, &got); err != nil || len(got.ConsumePromotionList) != 1 || len(got.ConsumePayList) != 1 {
				t.Errorf("score-v2 example body %s: want one promotion and one payment joined (%v)", r.Event.Body, err)
			}
		}
	}
}

func stripExt(name string) string { return name[:len(name)-len(filepath.Ext(name))] }
