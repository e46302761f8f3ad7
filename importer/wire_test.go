package importer

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// TestWireShapeOfVendorExamples reads, for every kind, a row that fills
// exactly the fields the vendor's example fills, and checks that the body
// sent has the example's shape: the same fields present, null where the
// example sends null, "" where it sends "", and no field the example leaves
// out.
func TestWireShapeOfVendorExamples(t *testing.T) {
	for _, k := range crmsync.Kinds {
		t.Run(string(k), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", "mallcoo", "testdata", "vendor", string(k)+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var example map[string]json.RawMessage
			if err := json.Unmarshal(raw, &example); err != nil {
				t.Fatal(err)
			}
			spec := mallcoo.SpecOf(k)
			var head, row []string
			for _, f := range spec.Fields {
				head = append(head, f.Name)
				cell := ""
				if v, ok := example[f.Name]; ok && string(v) != "null" && string(v) != `""` {
					var s string
					if json.Unmarshal(v, &s) == nil {
						cell = s
					} else {
						cell = string(v) // a number, or a list as a JSON array
					}
				}
				row = append(row, cell)
			}
			var b strings.Builder
			w := csv.NewWriter(&b)
			w.WriteAll([][]string{head, row})
			p := writeFile(t, t.TempDir(), string(k)+"-20241101.csv", b.String())
			ev := mustEvent(t, oneRow(t, &Reader{Kind: k}, p))
			var got map[string]json.RawMessage
			if err := json.Unmarshal(ev.Body, &got); err != nil {
				t.Fatalf("body %s: %v", ev.Body, err)
			}
			shape := func(v json.RawMessage, ok bool) string {
				switch {
				case !ok:
					return "absent"
				case string(v) == "null":
					return "null"
				case string(v) == `""`:
					return `""`
				}
				return "value"
			}
			for _, f := range spec.Fields {
				ev, eok := example[f.Name]
				gv, gok := got[f.Name]
				if want, have := shape(ev, eok), shape(gv, gok); want != have {
					t.Errorf("%s: %s in the body, %s in the vendor's example\nbody:    %s\nexample: %s", f.Name, have, want, gv, ev)
				}
			}
		})
	}
}
