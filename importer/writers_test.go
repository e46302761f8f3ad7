package importer

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync"
	"github.com/google/go-cmp/cmp"
)

// TestWorkbooksFromOtherWriters reads the same four score rows saved by
// writers we did not write — npm's exceljs (also with the 1904 date system)
// and SheetJS xlsx, and LibreOffice Calc from Debian — and checks every
// value that reaches Mallcoo: IDs keep their leading zeros, amounts are the
// decimals the cells show (no float noise), datetimes are China wall-clock
// times, and an instructions sheet is not read as data. The files and how
// they were made: testdata/writers/gen.js. score-sheetjs-dates.xlsx holds
// its datetimes as t="d" cells whose ISO text ends in Z: the digits are the
// time a person sees (LibreOffice shows them as written), not UTC.
func TestWorkbooksFromOtherWriters(t *testing.T) {
	want := []map[string]any{
		{"TransID": "T1001", "ThirdPartyCardID": "0201710000001", "ScoreEvent": "1", "TradeTime": "2024-11-01 10:05:03",
			"TradeAmount": "1280.5", "CrmShopID": "S0012", "TradeSerialNo": "SN-1", "PosID": "POS01", "Score": "1280", "PayType": "12"},
		{"TransID": "T1002", "ThirdPartyCardID": "0201710000002", "ScoreEvent": "1", "TradeTime": "2024-11-01 23:59:59",
			"TradeAmount": "100.1", "CrmShopID": "S0023", "Score": "100"},
		{"TransID": "T1003", "ThirdPartyCardID": "0201710000001", "ScoreEvent": "2101", "TradeTime": "2024-11-02 09:00:00",
			"TradeAmount": "1280.5", "CrmShopID": "S0012", "TradeSerialNo": "SN-1", "ReturnTime": "2024-11-02 09:30:00",
			"ReturnAmount": "200.25", "Score": "-200"},
		{"TransID": "T1004", "ThirdPartyCardID": "201710000009", "ScoreEvent": "1", "TradeTime": "2024-11-03 00:00:01",
			"TradeAmount": "0.07", "CrmShopID": "S0099", "Score": "0"},
	}
	for _, name := range []string{"score-exceljs.xlsx", "score-exceljs-1904.xlsx", "score-sheetjs.xlsx", "score-sheetjs-dates.xlsx", "score-libreoffice.xlsx"} {
		t.Run(name, func(t *testing.T) {
			rows, sums := readAll(t, &Reader{}, filepath.Join("testdata", "writers", name))
			for _, s := range sums {
				if !s.Problem.IsZero() {
					t.Errorf("ReadFile(%s) sheet %q: problem %q", name, s.Sheet, s.Problem)
				}
			}
			var got []map[string]any
			for _, row := range rows {
				got = append(got, bodyFields(t, mustEvent(t, row).Body))
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("ReadFile(%s) bodies (-want +got):\n%s", name, d)
			}
		})
	}
}

// bodyFields decodes a request body into its fields that hold a value
// (not null, not ""), every value as its JSON text without quotes, so a
// number and its exact digits compare. How empty fields go on the wire is
// mallcoo's TestWireShapeOfVendorExamples.
func bodyFields(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	out := map[string]any{}
	for k, v := range m {
		if bytes.Equal(v, []byte("null")) {
			continue
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			if s != "" {
				out[k] = s
			}
		} else {
			out[k] = string(v)
		}
	}
	return out
}

// TestDateCellWithOffset: a t="d" cell whose ISO text has a time zone
// offset other than Z is shown differently by the programs a person may
// open it with (LibreOffice converts it to UTC: 10:05:03+08:00 shows as
// 02:05:03), so the row is refused with the column, never guessed; Z and
// +00:00 are the digits as written.
func TestDateCellWithOffset(t *testing.T) {
	for _, tc := range []struct {
		cell, want string // want: the TradeTime sent, "" for a refused row
	}{
		{"2024-11-01T10:05:03+08:00", ""},
		{"2024-11-01T10:05:03-05:00", ""},
		{"2024-11-01T10:05:03+00:00", "2024-11-01 10:05:03"},
		{"2024-11-01T10:05:03Z", "2024-11-01 10:05:03"},
		{"2024-11-01T10:05:03", "2024-11-01 10:05:03"},
	} {
		path := dateCellVariant(t, "2024-11-01T10:05:03.000Z", tc.cell)
		rows, _ := readAll(t, &Reader{}, path)
		if tc.want == "" {
			p := mustProblem(t, rows[0])
			if p.Column != "TradeTime" || p.Code != crmsync.ReasonDateTime {
				t.Errorf("t=\"d\" cell %s: problem %+v, want a %s problem of TradeTime", tc.cell, p, crmsync.ReasonDateTime)
			}
			continue
		}
		if got := bodyFields(t, mustEvent(t, rows[0]).Body)["TradeTime"]; got != tc.want {
			t.Errorf("t=\"d\" cell %s: TradeTime %v, want %s", tc.cell, got, tc.want)
		}
	}
}

// dateCellVariant copies testdata/writers/score-sheetjs-dates.xlsx with the
// text of a t="d" cell replaced.
func dateCellVariant(t *testing.T, from, to string) string {
	t.Helper()
	zr, err := zip.OpenReader(filepath.Join("testdata", "writers", "score-sheetjs-dates.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	path := filepath.Join(t.TempDir(), "score.xlsx")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(zf.Name, "xl/worksheets/") {
			if !bytes.Contains(b, []byte(from)) {
				t.Fatalf("%s holds no %s", zf.Name, from)
			}
			b = bytes.ReplaceAll(b, []byte(from), []byte(to))
		}
		w, err := zw.Create(zf.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
