package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/crmsync/crmsync"
)

// The outcome of reading one file, as the tests of hostile input compare it.
type readOutcome struct {
	Code   string     // the file problem's code, "" for none
	Rows   int        // the summary's row count
	Values [][]string // each row's cells as read
	Column []string   // each row's problem column, "" for an event
}

func readOutcomeOf(rows []*crmsync.Row, sums []crmsync.FileSummary) readOutcome {
	var o readOutcome
	for _, s := range sums {
		if !s.Problem.IsZero() && s.Code == "" {
			o.Code = "?" // a problem without a code is a defect of its own
		} else if o.Code == "" {
			o.Code = s.Code
		}
		o.Rows += s.Rows
	}
	for _, r := range rows {
		o.Values = append(o.Values, r.Values)
		col := ""
		if r.Problem != nil {
			col = r.Problem.Column
			if col == "" {
				col = "(row)"
			}
		}
		o.Column = append(o.Column, col)
	}
	return o
}

// field returns one field of a row's request body as sent.
func field(t *testing.T, row *crmsync.Row, name string) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(mustEvent(t, row).Body, &m); err != nil {
		t.Fatalf("row %v: body %s: %v", row.Source, row.Event.Body, err)
	}
	return m[name]
}

func gbk(t *testing.T, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gb18030(t *testing.T, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// invalidCSV is a good 3-row file of the invalid kind, with Chinese remarks.
var invalidCSV = csvText("RefID,BonusAction,Desc", "R1,4,测试备注", "R2,4,年度降级", "R3,4,退货")

var invalidRows = [][]string{{"R1", "4", "测试备注"}, {"R2", "4", "年度降级"}, {"R3", "4", "退货"}}

// Encodings are decided on the evidence of the whole file: a BOM is
// believed only when the text after it is UTF-8, and bytes that do not
// decode in the encoding chosen make a file problem saying what to try; no
// row is read with U+FFFD for bytes that did not decode.
func TestCSVEncodingEvidence(t *testing.T) {
	bomb := []byte("\ufeff")
	u8 := []byte(invalidCSV)
	emoji := csvText("RefID,BonusAction,Desc", "R1,4,生日😀", "R2,4,年度降级", "R3,4,退货")
	emojiRows := [][]string{{"R1", "4", "生日😀"}, {"R2", "4", "年度降级"}, {"R3", "4", "退货"}}
	lone80 := []byte(csvText("RefID,BonusAction,Desc", "R1,4,测试备注", "R2,4,年度\x80降级", "R3,4,退货"))
	for _, tc := range []struct {
		name     string
		data     []byte
		encoding string
		want     readOutcome
		hint     string // in the problem: what to try
	}{
		{name: "UTF-8", data: u8, want: readOutcome{Rows: 3, Values: invalidRows, Column: []string{"", "", ""}}},
		{name: "BOM+UTF-8", data: cat(bomb, u8), want: readOutcome{Rows: 3, Values: invalidRows, Column: []string{"", "", ""}}},
		{name: "BOM+UTF-8 -encoding utf-8", data: cat(bomb, u8), encoding: "utf-8", want: readOutcome{Rows: 3, Values: invalidRows, Column: []string{"", "", ""}}},
		{name: "GBK", data: gbk(t, invalidCSV), want: readOutcome{Rows: 3, Values: invalidRows, Column: []string{"", "", ""}}},
		{name: "GBK -encoding gbk", data: gbk(t, invalidCSV), encoding: "gbk", want: readOutcome{Rows: 3, Values: invalidRows, Column: []string{"", "", ""}}},
		{name: "GB18030", data: gb18030(t, emoji), want: readOutcome{Rows: 3, Values: emojiRows, Column: []string{"", "", ""}}},
		// The case: a BOM that lies.
		{name: "BOM+GBK", data: cat(bomb, gbk(t, invalidCSV)), want: readOutcome{Code: ProblemEncoding}, hint: "-encoding gbk"},
		{name: "BOM+GBK -encoding gbk", data: cat(bomb, gbk(t, invalidCSV)), encoding: "gbk", want: readOutcome{Rows: 3, Values: invalidRows, Column: []string{"", "", ""}}},
		{name: "BOM+GBK -encoding utf-8", data: cat(bomb, gbk(t, invalidCSV)), encoding: "utf-8", want: readOutcome{Code: ProblemEncoding}, hint: "-encoding gbk"},
		{name: "BOM+GB18030", data: cat(bomb, gb18030(t, emoji)), want: readOutcome{Code: ProblemEncoding}, hint: "-encoding gb18030"},
		{name: "BOM+GB18030 -encoding gb18030", data: cat(bomb, gb18030(t, emoji)), encoding: "gb18030", want: readOutcome{Rows: 3, Values: emojiRows, Column: []string{"", "", ""}}},
		{name: "GB18030 -encoding gbk", data: gb18030(t, emoji), encoding: "gbk", want: readOutcome{Code: ProblemEncoding}, hint: "-encoding gb18030"},
		{name: "GBK -encoding utf-8", data: gbk(t, invalidCSV), encoding: "utf-8", want: readOutcome{Code: ProblemEncoding}, hint: "-encoding gbk"},
		{name: "UTF-8 -encoding gbk", data: u8, encoding: "gbk", want: readOutcome{Code: ProblemEncoding}, hint: "-encoding utf-8"},
		// A lone 0x80 in a UTF-8 file: Go's GBK decoder reads it as "€",
		// so "auto" must not fall back to GBK.
		{name: "UTF-8 with a lone 0x80", data: lone80, want: readOutcome{Code: ProblemEncoding}, hint: "line 3"},
		{name: "UTF-8 with a lone 0x80 -encoding utf-8", data: lone80, encoding: "utf-8", want: readOutcome{Code: ProblemEncoding}, hint: "line 3"},
		// Every byte of this one decodes as GB18030 (to mojibake): only
		// the UTF-8 around the stray byte tells.
		{name: "UTF-8 with a stray 0xC3", data: []byte(csvText("RefID,BonusAction,Desc", "R1,4,测试备注", "R2,4,\xc3A年度降级", "R3,4,会员生日")), want: readOutcome{Code: ProblemEncoding}, hint: "line 3"},
		{name: "ASCII with a lone 0x80", data: []byte(csvText("RefID,BonusAction,Desc", "R1,4,x\x80")), want: readOutcome{Code: ProblemEncoding}},
		{name: "ASCII with a lone 0x80 -encoding gbk", data: []byte(csvText("RefID,BonusAction,Desc", "R1,4,x\x80")), encoding: "gbk", want: readOutcome{Code: ProblemEncoding}, hint: "save it as a UTF-8 CSV"},
		{name: "UTF-8 cut inside the last character", data: []byte(csvText("RefID,BonusAction,Desc", "R1,4,测试备注"))[:40], want: readOutcome{Code: ProblemEncoding}},
		{name: "0xFF 0xFF", data: []byte("RefID,BonusAction\r\nR1,4\xff\xff\r\n"), want: readOutcome{Code: ProblemEncoding}},
		{name: "UTF-16 without a BOM (NUL bytes)", data: []byte("R\x00e\x00f\x00I\x00D\x00\r\x00\n\x00"), want: readOutcome{Code: ProblemEncoding}},
		{name: "UTF-16 BOM, odd length", data: []byte("\xff\xfeR\x00e\x00f"), want: readOutcome{Code: ProblemEncoding}},
		{name: "U+FFFD written in GB18030", data: cat(gbk(t, "RefID,BonusAction,Desc\r\nR1,4,测试"), []byte{0x84, 0x31, 0xa4, 0x37}, []byte("\r\n")), want: readOutcome{Code: ProblemEncoding}},
		{name: "unknown -encoding", data: u8, encoding: "latin9", want: readOutcome{Code: ProblemEncoding}, hint: "gb18030"},
		// A U+FFFD that is in valid UTF-8 was destroyed before the export:
		// the row is invalid on that column, the others go.
		{name: "U+FFFD in the file's text", data: []byte(csvText("RefID,BonusAction,Desc", "R1,4,测\ufffd备注", "R\ufffd2,4,x", "R3,4,退货")),
			want: readOutcome{Rows: 3, Values: [][]string{{"R1", "4", "测\ufffd备注"}, {"R\ufffd2", "4", "x"}, {"R3", "4", "退货"}}, Column: []string{"Desc", "RefID", ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "invalid.csv")
			if err := os.WriteFile(p, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			rows, sums := readAll(t, &Reader{Encoding: tc.encoding}, p)
			if diff := cmp.Diff(tc.want, readOutcomeOf(rows, sums)); diff != "" {
				t.Errorf("ReadFile -encoding %q (-want +got):\n%s\nsummaries: %+v", tc.encoding, diff, sums)
			}
			if tc.hint != "" && (len(sums) != 1 || !strings.Contains(sums[0].Problem.String(), tc.hint)) {
				t.Errorf("ReadFile -encoding %q: problem = %+v, want it to say %q", tc.encoding, sums, tc.hint)
			}
			for _, r := range rows {
				if r.Event != nil && strings.Contains(strings.ToLower(string(r.Event.Body)), "%ef%bf%bd") {
					t.Errorf("row %v sends U+FFFD: %s", r.Source, r.Event.Body)
				}
			}
		})
	}
}

// The GBK fixtures: a CRM export in GBK with Chinese labels, and the issue's
// grade file with a UTF-8 BOM in front of GBK text.
func TestGBKFixtures(t *testing.T) {
	rows, sums := readAll(t, &Reader{}, filepath.Join("testdata", "gbk-bonus.csv"))
	if len(sums) != 1 || !sums[0].Problem.IsZero() || sums[0].Kind != crmsync.KindBonus || sums[0].Rows != 3 {
		t.Fatalf("ReadFile(gbk-bonus.csv) summaries = %+v, want one bonus file of 3 rows", sums)
	}
	for i, want := range []string{"%e6%b5%8b%e8%af%95%e5%a4%87%e6%b3%a8", "%e9%80%80%e8%b4%a7%e6%89%a3%e5%87%8f%e7%a7%af%e5%88%86", "%e7%94%9f%e6%97%a5%e5%8f%8c%e5%80%8d"} {
		if got := field(t, rows[i], "Desc"); got != want {
			t.Errorf("gbk-bonus.csv row %d Desc = %v, want %s", i+2, got, want)
		}
	}
	if got := field(t, rows[0], "ThirdPartyCardID"); got != "0201610000095" {
		t.Errorf("gbk-bonus.csv row 2 ThirdPartyCardID = %v, want 0201610000095", got)
	}

	grade := filepath.Join("testdata", "bom-gbk-grade.csv")
	rows, sums = readAll(t, &Reader{}, grade)
	if len(rows) != 0 || len(sums) != 1 || sums[0].Code != ProblemEncoding || !strings.Contains(sums[0].Problem.String(), "-encoding gbk") {
		t.Fatalf("ReadFile(bom-gbk-grade.csv) = %d rows, %+v, want an encoding problem saying -encoding gbk", len(rows), sums)
	}
	rows, sums = readAll(t, &Reader{Encoding: "gbk"}, grade)
	if len(sums) != 1 || !sums[0].Problem.IsZero() || sums[0].Rows != 3 {
		t.Fatalf("ReadFile(bom-gbk-grade.csv, -encoding gbk) summaries = %+v, want 3 rows", sums)
	}
	for i, want := range []string{"年度升级", "年度降级", "消费达标"} {
		if got := field(t, rows[i], "Remark"); got != want {
			t.Errorf("bom-gbk-grade.csv row %d Remark = %v, want %s", i+2, got, want)
		}
	}
	if got := field(t, rows[0], "ThirdPartyCardID"); got != "0201710000001" {
		t.Errorf("bom-gbk-grade.csv row 2 ThirdPartyCardID = %v, want 0201710000001 (the BOM read as part of the header?)", got)
	}
}

// No row is lost without a word: line ends of any kind read as lines, a
// broken quote is a file problem at its line after the rows before it, and
// a file without data rows is a problem.
func TestCSVNoSilentLoss(t *testing.T) {
	score := func(rows ...string) []string {
		out := []string{scoreHeader}
		for _, r := range rows {
			out = append(out, "Q-"+r+",0201710000001,1,2024-11-01 10:00:00,100.00,S0012,10")
		}
		return out
	}
	scoreValues := func(ids ...string) [][]string {
		var out [][]string
		for _, id := range ids {
			out = append(out, []string{"Q-" + id, "0201710000001", "1", "2024-11-01 10:00:00", "100.00", "S0012", "", "", "", "", "10", ""})
		}
		return out
	}
	ok := func(n int) []string { return make([]string, n) }
	ten := score("1", "2", "3", "4", "5", "6", "7", "8", "9", "10")
	ten[5] = `Q-5,"0201710000001,1,2024-11-01 10:00:00,100.00,S0012,10`
	for _, tc := range []struct {
		name, text string
		want       readOutcome
	}{
		{"CRLF", strings.Join(score("1", "2", "3"), "\r\n") + "\r\n", readOutcome{Rows: 3, Values: scoreValues("1", "2", "3"), Column: ok(3)}},
		{"CR only", strings.Join(score("1", "2", "3"), "\r"), readOutcome{Rows: 3, Values: scoreValues("1", "2", "3"), Column: ok(3)}},
		{"CR only, trailing CR", strings.Join(score("1", "2", "3"), "\r") + "\r\r", readOutcome{Rows: 3, Values: scoreValues("1", "2", "3"), Column: ok(3)}},
		{"mixed CRLF, LF and CR", scoreHeader + "\r\n" + strings.Join(score("1", "2", "3")[1:], "\n") + "\r" + score("4")[1] + "\r\n", readOutcome{Rows: 4, Values: scoreValues("1", "2", "3", "4"), Column: ok(4)}},
		// The case: Q-2's card ID opens a quote that never closes.
		{"unbalanced quote", strings.Join([]string{scoreHeader, score("1")[1], `Q-2,"0201710000001,1,2024-11-01 10:00:00,100.00,S0012,10`, score("3")[1]}, "\r\n") + "\r\n",
			readOutcome{Code: ProblemSyntax, Rows: 1, Values: scoreValues("1"), Column: ok(1)}},
		{"quote error in the middle of 10 rows", strings.Join(ten, "\r\n") + "\r\n", readOutcome{Code: ProblemSyntax, Rows: 4, Values: scoreValues("1", "2", "3", "4"), Column: ok(4)}},
		{"quote error before a quoted cell", strings.Join(append(ten[:7:7], `Q-7,"0201710000001",1,2024-11-01 10:00:00,100.00,S0012,10`), "\r\n") + "\r\n",
			readOutcome{Code: ProblemSyntax, Rows: 4, Values: scoreValues("1", "2", "3", "4"), Column: ok(4)}},
		{"text after a closing quote", strings.Join([]string{scoreHeader, score("1")[1], `Q-2,"0201710000001"x,1,2024-11-01 10:00:00,100.00,S0012,10`, score("3")[1]}, "\n") + "\n",
			readOutcome{Code: ProblemSyntax, Rows: 1, Values: scoreValues("1"), Column: ok(1)}},
		// Quotes inside an unquoted cell are text: Excel's ="…" trick.
		{"=\"…\" cells", scoreHeader + "\n" + `Q-1,="0201710000001",1,2024-11-01 10:00:00,100.00,S0012,10` + "\n",
			readOutcome{Rows: 1, Values: [][]string{{"Q-1", `="0201710000001"`, "1", "2024-11-01 10:00:00", "100.00", "S0012", "", "", "", "", "10", ""}}, Column: ok(1)}},
		{"0 bytes", "", readOutcome{Code: ProblemEmpty}},
		{"BOM only", "\ufeff", readOutcome{Code: ProblemEmpty}},
		{"blank lines only", "\r\n\r\n,,,\r\n", readOutcome{Code: ProblemEmpty}},
		{"header only", scoreHeader + "\r\n", readOutcome{Code: ProblemNoRows}},
		{"BOM and header only, no line end", "\ufeff" + scoreHeader, readOutcome{Code: ProblemNoRows}},
		{"header and blank lines", scoreHeader + "\r\n\r\n,,,,\r\n", readOutcome{Code: ProblemNoRows}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "score.csv", tc.text)
			rows, sums := readAll(t, &Reader{}, p)
			if diff := cmp.Diff(tc.want, readOutcomeOf(rows, sums)); diff != "" {
				t.Errorf("ReadFile (-want +got):\n%s\nsummaries: %+v", diff, sums)
			}
			if len(sums) != 1 || sums[0].Kind != crmsync.KindScore {
				t.Errorf("ReadFile summaries = %+v, want one of kind score", sums)
			}
		})
	}
}

// A CR-only file with quoted cells over several lines (old Mac Excel).
func TestCSVCROnlyMultiline(t *testing.T) {
	p := writeFile(t, t.TempDir(), "invalid.csv", "RefID,BonusAction,Desc\r"+`R1,4,"two`+"\r"+`lines"`+"\r"+`R2,4,"a ""quote"""`+"\r\r"+"R3,4,x\r")
	rows, sums := readAll(t, &Reader{}, p)
	want := readOutcome{Rows: 3, Values: [][]string{{"R1", "4", "two\nlines"}, {"R2", "4", `a "quote"`}, {"R3", "4", "x"}}, Column: make([]string, 3)}
	if diff := cmp.Diff(want, readOutcomeOf(rows, sums)); diff != "" {
		t.Errorf("ReadFile (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{2, 3, 5}, rowNumbers(rows)); diff != "" {
		t.Errorf("row numbers (-want +got):\n%s", diff)
	}
}

// The line a quote error names is the line its row starts on.
func TestCSVQuoteErrorLine(t *testing.T) {
	p := writeFile(t, t.TempDir(), "invalid.csv", csvText("RefID,BonusAction,Desc", "R1,4,x", "", `R2,4,"open`, "R3,4,y"))
	_, sums := readAll(t, &Reader{}, p)
	if len(sums) != 1 || sums[0].Code != ProblemSyntax || !strings.Contains(sums[0].Problem.String(), "line 4") {
		t.Errorf("ReadFile summaries = %+v, want a csv-syntax problem on line 4", sums)
	}
}

// Only regular files are read; anything else is a file problem, found
// without opening it for a read that could block (a FIFO without a writer)
// or never end (/dev/zero).
func TestNotRegularFiles(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.Mkdir(in, 0o755)
	good := writeFile(t, in, "score.csv", csvText(scoreHeader, "Q-1,0201710000001,1,2024-11-01 10:00:00,100.00,S0012,10"))
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"fifo.csv": fifo, "zero.csv": "/dev/zero", "gone.csv": filepath.Join(dir, "nothing")} {
		if err := os.Symlink(target, filepath.Join(in, name)); err != nil {
			t.Fatal(err)
		}
	}
	os.Mkdir(filepath.Join(in, "x.csv"), 0o755)
	sock := filepath.Join(in, "s.csv")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	got, err := Expand([]string{in})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(in, "fifo.csv"), filepath.Join(in, "gone.csv"), sock, good, filepath.Join(in, "x.csv"), filepath.Join(in, "zero.csv")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Expand (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		path, code string
	}{
		{filepath.Join(in, "fifo.csv"), ProblemNotRegular},
		{fifo, ProblemNotRegular},
		{filepath.Join(in, "zero.csv"), ProblemNotRegular},
		{"/dev/zero", ProblemNotRegular},
		{"/dev/null", ProblemNotRegular},
		{sock, ProblemNotRegular},
		{filepath.Join(in, "x.csv"), ProblemNotRegular},
		{in, ProblemNotRegular},
		{filepath.Join(in, "gone.csv"), ProblemOpen},
	} {
		for _, r := range []*Reader{{}, {Kind: crmsync.KindScore}} {
			rows, sums := readAll(t, r, tc.path)
			if len(rows) != 0 || len(sums) != 1 || sums[0].Code != tc.code || sums[0].Path != tc.path {
				t.Errorf("ReadFile(%s) kind %q = %d rows, %+v, want a %s problem", tc.path, r.Kind, len(rows), sums, tc.code)
			}
		}
	}
	// An XLSX name is checked the same way before excelize opens it.
	x := filepath.Join(in, "fifo.xlsx")
	os.Symlink(fifo, x)
	if _, sums := readAll(t, &Reader{}, x); len(sums) != 1 || sums[0].Code != ProblemNotRegular {
		t.Errorf("ReadFile(FIFO named .xlsx) = %+v, want a not-regular-file problem", sums)
	}
	if _, sums := readAll(t, &Reader{}, good); len(sums) != 1 || !sums[0].Problem.IsZero() || sums[0].Rows != 1 {
		t.Errorf("ReadFile(%s) = %+v, want 1 row", good, sums)
	}
}

// The caps on one file: rows, cells, and a row's bytes; each is a file
// problem after the rows before it, naming the setting.
func TestCSVCaps(t *testing.T) {
	five := csvText("RefID,BonusAction,Desc", "R1,4,a", "R2,4,b", "R3,4,c", "R4,4,d", "R5,4,e")
	for _, tc := range []struct {
		name    string
		r       Reader
		text    string
		want    readOutcome
		setting string
	}{
		{"rows at the cap", Reader{MaxRowsPerFile: 5}, five, readOutcome{Rows: 5, Values: [][]string{{"R1", "4", "a"}, {"R2", "4", "b"}, {"R3", "4", "c"}, {"R4", "4", "d"}, {"R5", "4", "e"}}, Column: make([]string, 5)}, ""},
		{"rows over the cap", Reader{MaxRowsPerFile: 3}, five, readOutcome{Code: ProblemTooManyRows, Rows: 3, Values: [][]string{{"R1", "4", "a"}, {"R2", "4", "b"}, {"R3", "4", "c"}}, Column: make([]string, 3)}, "max_rows_per_file"},
		{"a cell at the cap", Reader{MaxCellBytes: 12}, csvText("RefID,BonusAction,Desc", "R1,4,测试备注"), readOutcome{Rows: 1, Values: [][]string{{"R1", "4", "测试备注"}}, Column: make([]string, 1)}, ""},
		{"a cell over the cap", Reader{MaxCellBytes: 12}, csvText("RefID,BonusAction,Desc", "R1,4,a", "R2,4,1234567890123", "R3,4,c"), readOutcome{Code: ProblemCellTooBig, Rows: 1, Values: [][]string{{"R1", "4", "a"}}, Column: make([]string, 1)}, "max_cell_bytes"},
		{"a header cell over the cap", Reader{MaxCellBytes: 4}, csvText("RefID,BonusAction,Desc", "R1,4,a"), readOutcome{Code: ProblemCellTooBig}, "max_cell_bytes"},
		{"a line without an end", Reader{MaxCellBytes: 16}, "RefID,BonusAction,Desc\nR1,4,a\nR2,4," + strings.Repeat("x", 16*rowCells+1), readOutcome{Code: ProblemRowTooLong, Rows: 1, Values: [][]string{{"R1", "4", "a"}}, Column: make([]string, 1)}, "max_cell_bytes"},
		{"a quote that runs past the cap", Reader{MaxCellBytes: 16}, "RefID,BonusAction,Desc\nR1,4,a\nR2,4,\"" + strings.Repeat("x\n", 16*rowCells), readOutcome{Code: ProblemRowTooLong, Rows: 1, Values: [][]string{{"R1", "4", "a"}}, Column: make([]string, 1)}, "max_cell_bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "invalid.csv", tc.text)
			rows, sums := readAll(t, &tc.r, p)
			if diff := cmp.Diff(tc.want, readOutcomeOf(rows, sums)); diff != "" {
				t.Errorf("ReadFile (-want +got):\n%s\nsummaries: %+v", diff, sums)
			}
			if tc.setting != "" && (len(sums) != 1 || !strings.Contains(sums[0].Problem.String(), tc.setting)) {
				t.Errorf("ReadFile problem = %+v, want it to name %s", sums, tc.setting)
			}
		})
	}
}

// A line longer than the row cap is not buffered whole: the parser is
// stopped after about the cap.
func TestCSVLongLineNotBuffered(t *testing.T) {
	p := filepath.Join(t.TempDir(), "invalid.csv")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("RefID,BonusAction,Desc\nR1,4,")
	chunk := []byte(strings.Repeat("x", 1<<20))
	for i := 0; i < 64; i++ {
		f.Write(chunk)
	}
	f.Close()
	s := (&Reader{MaxCellBytes: 1 << 10}).session(p)
	tb, c, problem, err := s.openCSV(context.Background(), p)
	if err != nil || problem != nil {
		t.Fatalf("openCSV = %v, %v", problem, err)
	}
	defer c.Close()
	if _, err := tb.next(); err != nil {
		t.Fatalf("next (header) = %v", err)
	}
	_, err = tb.next()
	var se *syntaxError
	if !errors.As(err, &se) || se.code != ProblemRowTooLong {
		t.Fatalf("next (the long line) = %v, want a row-too-long problem", err)
	}
	if limit := int64(1<<10)*rowCells + 2*bufSize; tb.guard.n > limit {
		t.Errorf("the guard passed on %d bytes of a 64 MiB line, want at most %d", tb.guard.n, limit)
	}
}

// Reading stops promptly when ctx is cancelled: in the encoding check, which
// reads the whole file, and among lines that hold no row.
func TestCSVCancel(t *testing.T) {
	p := writeFile(t, t.TempDir(), "invalid.csv", "RefID,BonusAction,Desc\n"+strings.Repeat(",,\n", 100_000)+"R1,4,x\n")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, _, _, err := detectEncoding(ctx, f, "auto"); !errors.Is(err, context.Canceled) {
		t.Errorf("detectEncoding(cancelled) = %v, want context.Canceled", err)
	}
	s := (&Reader{}).session(p)
	tb, c, problem, err := s.openCSV(context.Background(), p)
	if err != nil || problem != nil {
		t.Fatalf("openCSV = %v, %v", problem, err)
	}
	defer c.Close()
	n := 0
	_, _, err = (&sheet{s: s, t: tb, kind: crmsync.KindInvalid}).read(ctx, func(*crmsync.Row) error { n++; return nil })
	if !errors.Is(err, context.Canceled) || n != 0 {
		t.Errorf("read(cancelled) over blank lines = %v after %d rows, want context.Canceled before the row", err, n)
	}
}

// FuzzReadCSV: whatever the bytes, ReadFile neither panics nor fails, and
// every row it yields holds valid UTF-8 with no U+FFFD made by decoding: a
// U+FFFD is only ever one the file itself holds as UTF-8, and its row is
// invalid. Run it with
//
//	go test ./importer -run '^$' -fuzz '^FuzzReadCSV$' -fuzztime 60s
func FuzzReadCSV(f *testing.F) {
	gbkText, _ := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(invalidCSV))
	emoji, _ := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(csvText("RefID,BonusAction,Desc", "R1,4,生日😀")))
	score := scoreHeader + "\r\nQ-1,0201710000001,1,2024-11-01 10:00:00,100.00,S0012,10\r\n"
	for _, seed := range [][]byte{
		[]byte(invalidCSV),
		append([]byte("\ufeff"), invalidCSV...),
		gbkText,
		append([]byte("\ufeff"), gbkText...),
		emoji,
		append([]byte("\ufeff"), emoji...),
		[]byte(csvText("RefID,BonusAction,Desc", "R1,4,年度\x80降级")),
		[]byte(csvText("RefID,BonusAction,Desc", "R1,4,测试备注", "R2,4,\xc3A年度降级")),
		[]byte(csvText("RefID,BonusAction,Desc", "R1,4,测\ufffd备注")),
		[]byte(strings.ReplaceAll(score, "\r\n", "\r")),
		[]byte("RefID,BonusAction,Desc\r" + `R1,4,"two` + "\r" + `lines"` + "\r"),
		[]byte(score + `Q-2,"0201710000001,1,2024-11-01 10:00:00,100.00,S0012,10` + "\r\n" + score[len(scoreHeader)+2:]),
		[]byte(score + `Q-2,"0201710000001"x,1` + "\n"),
		[]byte(score + `Q-3,="0201710000001",1,2024-11-01 10:00:00,100.00,S0012,10` + "\n"),
		[]byte(""),
		[]byte("\ufeff"),
		[]byte(scoreHeader),
		[]byte("\xff\xfeR\x00e\x00f\x00I\x00D\x00"),
		[]byte("RefID\x00,BonusAction\r\n"),
		[]byte("RefID\tBonusAction\tDesc\nR1\t4\tx\n"),
	} {
		for enc := range uint8(4) {
			f.Add(seed, enc, uint8(0))
		}
		f.Add(seed, uint8(0), uint8(1))
		f.Add(seed, uint8(0), uint8(2))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, enc, name uint8) {
		p := filepath.Join(dir, []string{"invalid.csv", "score.csv", "export.csv", "grade.csv"}[name%4])
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(p)
		r := &Reader{Encoding: []string{"", "utf-8", "gbk", "gb18030"}[enc%4], Now: fixedNow, MaxCellBytes: 4 << 10}
		var rows []*crmsync.Row
		sums, err := r.ReadFile(context.Background(), p, func(row *crmsync.Row) error {
			rows = append(rows, row)
			return nil
		})
		if err != nil {
			t.Fatalf("ReadFile error: %v", err)
		}
		if len(sums) != 1 || !sums[0].Problem.IsZero() && sums[0].Code == "" {
			t.Errorf("ReadFile summaries = %+v, want one, with a code when it has a problem", sums)
		}
		literal := bytes.Contains(data, []byte("\ufffd"))
		for _, row := range rows {
			for i, v := range row.Values {
				if !utf8.ValidString(v) {
					t.Errorf("row %v value %d = %q: not UTF-8", row.Source, i, v)
				}
				if strings.ContainsRune(v, utf8.RuneError) && (!literal || row.Problem == nil) {
					t.Errorf("row %v value %d = %q: U+FFFD (in the file: %v), problem %v", row.Source, i, v, literal, row.Problem)
				}
			}
			if row.Event != nil {
				b := row.Event.Body
				if !utf8.Valid(b) || bytes.ContainsRune(b, utf8.RuneError) || bytes.Contains(bytes.ToLower(b), []byte("%ef%bf%bd")) {
					t.Errorf("row %v body %q: not UTF-8, or U+FFFD", row.Source, b)
				}
			}
		}
	})
}

// The cell cap holds for workbooks too, and the row cap counts the rows of
// all a workbook's sheets.
func TestXLSXCaps(t *testing.T) {
	dir := t.TempDir()
	p := writeXLSX(t, dir, "2024-11-01_export.xlsx",
		xsheet{"invalid", [][]any{{"RefID", "BonusAction", "Desc"}, {"R1", 4, "a"}, {"R2", 4, strings.Repeat("x", 13)}, {"R3", 4, "c"}}})
	rows, sums := readAll(t, &Reader{MaxCellBytes: 12}, p)
	want := readOutcome{Code: ProblemCellTooBig, Rows: 1, Values: [][]string{{"R1", "4", "a"}}, Column: []string{""}}
	if diff := cmp.Diff(want, readOutcomeOf(rows, sums)); diff != "" {
		t.Errorf("ReadFile(long cell) (-want +got):\n%s\nsummaries: %+v", diff, sums)
	}
	p = writeXLSX(t, dir, "2024-11-01_two.xlsx",
		xsheet{"invalid", [][]any{{"RefID", "BonusAction"}, {"R1", 4}, {"R2", 4}}},
		xsheet{"over-limit", [][]any{{"RefID", "BonusAction"}, {"O1", 1}, {"O2", 1}}})
	rows, sums = readAll(t, &Reader{MaxRowsPerFile: 3}, p)
	var got []string
	for _, r := range rows {
		got = append(got, r.Values[0])
	}
	if diff := cmp.Diff([]string{"R1", "R2", "O1"}, got); diff != "" || len(sums) != 2 || sums[1].Code != ProblemTooManyRows || sums[0].Code != "" {
		t.Errorf("ReadFile(two sheets, cap 3): rows (-want +got):\n%s\nsummaries: %+v", diff, sums)
	}
}

// TestCSVRowWiderThanHeader: a CSV row with more cells than its header has
// a cell with an unquoted comma (1,280.50; a remark "升级,原因"), which
// shifts the cells after it into the wrong columns: the row is invalid as a
// whole (extra-cells), never sent with the shifted values, and has no
// event key (KeyOf) read from them. Empty cells
// past the header (trailing commas) are no problem; a quoted comma is text.
func TestCSVRowWiderThanHeader(t *testing.T) {
	const grade = "ThirdPartyCardID,BeforeCardCode,AfterCardCode,ChangeType,ChangeTime,Remark,GradeChangeID"
	for _, tc := range []struct {
		name, text string
		problem    string // the row's problem code, "" for an event
		key        string // the event's key when it is one
	}{
		{"comma in a remark", grade + "\r\n0201710000001,普卡,金卡,0,2024-11-01 10:00:00,升级,原因,GC1\r\n", crmsync.ReasonExtraCells, ""},
		{"comma in an amount", scoreHeader + "\r\nQ-1,0201710000001,1,2024-11-01 10:00:00,1,280.50,S0012,10\r\n", crmsync.ReasonExtraCells, ""},
		{"comma in the last cell", grade + "\r\n0201710000001,普卡,金卡,0,2024-11-01 10:00:00,升级,GC1,2\r\n", crmsync.ReasonExtraCells, ""},
		{"trailing empty cells", grade + "\r\n0201710000001,普卡,金卡,0,2024-11-01 10:00:00,升级,GC1,,\r\n", "", "GC1"},
		{"trailing blank cell", grade + "\r\n0201710000001,普卡,金卡,0,2024-11-01 10:00:00,升级,GC1, \r\n", "", "GC1"},
		{"quoted comma", grade + "\r\n0201710000001,普卡,金卡,0,2024-11-01 10:00:00,\"升级,原因\",GC1\r\n", "", "GC1"},
		{"header with an empty last cell", grade + ",\r\n0201710000001,普卡,金卡,0,2024-11-01 10:00:00,升级,GC1\r\n", "", "GC1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			row := oneRow(t, &Reader{}, writeFile(t, t.TempDir(), "in.csv", tc.text))
			switch {
			case tc.problem != "":
				if row.Problem == nil || row.Problem.Code != tc.problem {
					t.Errorf("row %v: problem %+v, event %v; want invalid with %s", row.Values, row.Problem, row.Event, tc.problem)
				}
				// Its key cells may hold another cell's value: a fixed row
				// must not settle it through them.
				if key, ok := KeyOf(row); ok {
					t.Errorf("KeyOf(shifted row) = %q, want none", key)
				}
			case row.Problem != nil:
				t.Errorf("row %v: problem %+v, want an event", row.Values, row.Problem)
			case mustEvent(t, row).Key != tc.key:
				t.Errorf("event key %q, want %q", row.Event.Key, tc.key)
			}
		})
	}
}
