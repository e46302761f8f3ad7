package importer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	xunicode "golang.org/x/text/encoding/unicode"

	"github.com/crmsync/crmsync"
)

const scoreHeader = "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score"

// rowNumbers lists the Source.Row of rows.
func rowNumbers(rows []*crmsync.Row) []int {
	var n []int
	for _, r := range rows {
		n = append(n, r.Source.Row)
	}
	return n
}

func TestCSVLayout(t *testing.T) {
	// LF line ends, blank lines, a row of empty cells, a quoted cell over two
	// lines, a ragged row (no trailing cells) and a trailing empty line.
	text := "invalid id,RefID,BonusAction,Desc\n" +
		"\n" +
		"x,R1,4,\"two\nlines\"\n" +
		",,,\n" +
		"x,R2,4\n" +
		"x,R3\n" +
		"\n"
	p := writeFile(t, t.TempDir(), "invalid.csv", text)
	rows, sums := readAll(t, &Reader{}, p)
	if diff := cmp.Diff([]int{3, 5, 6}, rowNumbers(rows)); diff != "" {
		t.Fatalf("row numbers (-want +got):\n%s", diff)
	}
	if len(sums) != 1 || sums[0].Rows != 3 || sums[0].Kind != crmsync.KindInvalid || !sums[0].Problem.IsZero() {
		t.Errorf("summaries = %+v, want one invalid file of 3 rows", sums)
	}
	if got := string(mustEvent(t, rows[0]).Body); got != `{"RefID":"R1","BonusAction":4,"Desc":"two%0alines"}` {
		t.Errorf("Body = %s", got)
	}
	mustEvent(t, rows[1])
	if p := mustProblem(t, rows[2]); p.Column != "BonusAction" {
		t.Errorf("ragged row problem column = %q, want BonusAction", p.Column)
	}
}

func TestCSVEncodings(t *testing.T) {
	dir := t.TempDir()
	text := csvText("积分申请单号,积分类型,作废原因", "R1,4,测试备注")
	want := `{"RefID":"R1","BonusAction":4,"Desc":"%e6%b5%8b%e8%af%95%e5%a4%87%e6%b3%a8"}`
	bomFile := writeFile(t, dir, "bom-invalid.csv", "\ufeff"+text)
	utf8File := writeFile(t, dir, "utf8-invalid.csv", text)
	gbkFile := writeGBK(t, dir, "gbk-invalid.csv", text)
	for _, tc := range []struct {
		enc, path string
	}{
		{"", bomFile}, {"auto", utf8File}, {"", gbkFile}, {"gbk", gbkFile}, {"GB18030", gbkFile}, {"utf-8", bomFile}, {"utf8", utf8File},
	} {
		row := oneRow(t, &Reader{Encoding: tc.enc}, tc.path)
		if got := string(mustEvent(t, row).Body); got != want {
			t.Errorf("ReadFile(%s) with -encoding %q: Body = %s, want %s", filepath.Base(tc.path), tc.enc, got, want)
		}
	}
	// Excel's "Unicode text": UTF-16 with a BOM, tab-separated.
	u16, _ := xunicode.UTF16(xunicode.LittleEndian, xunicode.UseBOM).NewEncoder().Bytes([]byte(strings.ReplaceAll(text, ",", "\t")))
	u16File := filepath.Join(dir, "u16-invalid.csv")
	os.WriteFile(u16File, u16, 0o644)
	if got := string(mustEvent(t, oneRow(t, &Reader{}, u16File)).Body); got != want {
		t.Errorf("ReadFile(UTF-16 text) Body = %s, want %s", got, want)
	}
	// GBK read as UTF-8 is a file problem that says what to do.
	rows, sums := readAll(t, &Reader{Encoding: "utf-8"}, gbkFile)
	if len(rows) != 0 || len(sums) != 1 || !strings.Contains(sums[0].Problem.String(), "-encoding gbk") {
		t.Errorf("ReadFile(gbk file, -encoding utf-8) = %d rows, %+v, want a problem saying -encoding gbk", len(rows), sums)
	}
	// Bytes that are neither UTF-8 nor GB18030.
	bad := filepath.Join(dir, "bad-invalid.csv")
	os.WriteFile(bad, []byte("RefID,BonusAction\r\nR1,4\xff\xff\r\n"), 0o644)
	if _, sums := readAll(t, &Reader{}, bad); len(sums) != 1 || sums[0].Problem.IsZero() {
		t.Errorf("ReadFile(undecodable) = %+v, want a file problem", sums)
	}
	if _, sums := readAll(t, &Reader{Encoding: "latin9"}, utf8File); len(sums) != 1 || sums[0].Problem.IsZero() {
		t.Errorf("ReadFile(-encoding latin9) = %+v, want a file problem", sums)
	}
}

func TestHeaderAliases(t *testing.T) {
	want := `{"RefID":"R1","BonusAction":4,"Desc":"x"}`
	for _, header := range []string{
		"refid,BONUSACTION,desc",
		" 积分申请单号 ,\u3000积分类型\u3000,作废原因",
		"*积分申请单号,*积分类型,作废原因",
		"积分申请单号(RefID),积分类型（BonusAction）,作废原因 (Desc)",
		"RefID 积分申请单号,BonusAction 积分类型,Desc 作废原因",
		"\"积分申请单号\nRefID\",\"积分类型\nBonusAction\",作废原因",
		"Ref_ID,Bonus Action,Desc",
		"原因,RefID,BonusAction,Desc,Unknown column",
		"业务单号,积分事件,描述", // other endpoints' labels of the same fields
	} {
		row := "R1,4,x"
		if strings.HasPrefix(header, "原因") {
			row = "ignored reason,R1,4,x,whatever"
		}
		p := writeFile(t, t.TempDir(), "invalid.csv", csvText(header, row))
		r := oneRow(t, &Reader{}, p)
		if got := string(mustEvent(t, r).Body); got != want {
			t.Errorf("header %q: Body = %s, want %s", header, got, want)
		}
	}
}

// A template's second header line (labels under names) and title lines
// above the header are not data.
func TestHeaderPosition(t *testing.T) {
	p := writeFile(t, t.TempDir(), "invalid.csv", csvText(
		"积分作废回调通知 2024-11-01",
		"",
		"RefID,BonusAction,Desc",
		"积分申请单号,积分类型,作废原因",
		"R1,4,x"))
	row := oneRow(t, &Reader{}, p)
	mustEvent(t, row)
	if row.Source.Row != 5 {
		t.Errorf("Source.Row = %d, want 5", row.Source.Row)
	}
}

func TestHeaderProblems(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, text string
		want       []string // in the problem
	}{
		{"score.csv", csvText("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,CrmShopID", "T1,C1,1,2024-11-01,S1"), []string{"TradeAmount", "Score", "消费金额"}},
		{"grade.csv", csvText("ThirdPartyCardID,BeforeCardCode,AfterCardCode,ChangeType,变更类型,ChangeTime", "C1,a,b,0,0,2024-11-01"), []string{"ChangeType"}},
		{"data.csv", csvText("a,b,c", "1,2,3"), []string{"-kind"}},
		{"member.csv", csvText("Name,Age", "x,1"), []string{"member"}},
		{"noheader-invalid.csv", csvText("R1,4,x", "R2,4,y"), []string{"invalid"}},
		{"export.csv", csvText("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,Score", "T1,C1,1,2024-11-01,1,1"), []string{"score", "CrmShopID"}},
	} {
		rows, sums := readAll(t, &Reader{}, writeFile(t, dir, tc.name, tc.text))
		if len(rows) != 0 || len(sums) != 1 {
			t.Errorf("ReadFile(%s) = %d rows, %+v, want no rows and one summary", tc.name, len(rows), sums)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(sums[0].Problem.String(), w) {
				t.Errorf("ReadFile(%s) problem = %q, want it to mention %q", tc.name, sums[0].Problem.String(), w)
			}
		}
	}
}

func TestKindDetection(t *testing.T) {
	dir := t.TempDir()
	v2 := "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,PayAmount,CrmShopID,Score\r\nT1,C1,1,2024-11-01,1,S1,1\r\n"
	v1 := scoreHeader + "\r\nT1,C1,1,2024-11-01,1,S1,1\r\n"
	for _, tc := range []struct {
		name, text string
		kind       crmsync.Kind // -kind
		want       crmsync.Kind
	}{
		{"export.csv", v2, "", crmsync.KindScoreV2},
		{"export.csv", v1, "", crmsync.KindScore},
		{"2024-11-01_消费积分变更通知V2.csv", v2, "", crmsync.KindScoreV2},
		{"2024-11-01_消费积分变更通知.csv", v1, "", crmsync.KindScore},
		{"Score-V2_20241101.csv", v2, "", crmsync.KindScoreV2},
		{"OverLimit.csv", "RefID,BonusAction\r\nR1,1\r\n", "", crmsync.KindOverLimit},
		{"things.csv", "RefID,BonusAction\r\nR1,1\r\n", crmsync.KindVerify, ""}, // -kind wins: verify lacks columns
		{"grade.csv", "RefID,BonusAction\r\nR1,1\r\n", crmsync.KindInvalid, crmsync.KindInvalid},
		{"export.csv", "ThirdPartyCardID,Mobile\r\nC1,\r\n", "", crmsync.KindMember},
		{"export.csv", "RefID,BonusAction,Desc\r\nR1,1,x\r\n", "", crmsync.KindInvalid},
		{"export.csv", "RefID,BonusAction,Bonus,CurrentBonus,BonusVerifyStatus,BonusVerifyTime\r\nR1,1,1,1,1,2024-11-01\r\n", "", crmsync.KindVerify},
		{"export.csv", "ThirdPartyCardID,BonusAction,GetBonus,AfterBonus,RefID,CreateTime\r\nC1,1,1,1,R1,2024-11-01\r\n", "", crmsync.KindBonus},
	} {
		p := filepath.Join(dir, tc.name)
		os.WriteFile(p, []byte(tc.text), 0o644)
		rows, sums := readAll(t, &Reader{Kind: tc.kind}, p)
		if tc.want == "" {
			if len(sums) != 1 || sums[0].Problem.IsZero() {
				t.Errorf("ReadFile(%s, -kind %s) = %+v, want a file problem", tc.name, tc.kind, sums)
			}
			continue
		}
		if len(rows) != 1 || rows[0].Kind != tc.want || sums[0].Kind != tc.want {
			t.Errorf("ReadFile(%s, -kind %q): %d rows, summary %+v, want kind %s", tc.name, tc.kind, len(rows), sums, tc.want)
			continue
		}
		mustEvent(t, rows[0])
	}
}

// Each bad cell gives a problem on its column with a reason in Chinese and
// English.
func TestRowProblems(t *testing.T) {
	const ok = "T1,C1,1,2024-11-01 10:00:00,100,S1,100"
	for _, tc := range []struct {
		name, file, header, row string
		column, reason          string // reason: a part of it
	}{
		{"scientific card", "score.csv", scoreHeader, "T1,1.23457E+11,1,2024-11-01,100,S1,100", "ThirdPartyCardID", "科学计数法(1.23457E+11)"},
		{"bad amount", "score.csv", scoreHeader, "T1,C1,1,2024-11-01,12.3x,S1,100", "TradeAmount", "not a valid number"},
		{"impossible date", "score.csv", scoreHeader, "T1,C1,1,2024-02-30 10:00:00,100,S1,100", "TradeTime", "not a valid date"},
		{"closed enum", "score.csv", scoreHeader, "T1,C1,3,2024-11-01,100,S1,100", "ScoreEvent", "1 sale, 2101 return"},
		{"required empty", "score.csv", scoreHeader, "T1,C1,1,2024-11-01,100,,100", "CrmShopID", "required"},
		{"sale negative", "score.csv", scoreHeader, "T1,C1,1,2024-11-01,100,S1,-5", "Score", "sale's Score"},
		{"return positive", "score.csv", scoreHeader + ",ReturnTime,ReturnAmount", "T1,C1,2101,2024-11-01,100,S1,5,2024-11-02,100", "Score", "return's Score"},
		{"return no time", "score.csv", scoreHeader + ",ReturnTime,ReturnAmount", "T1,C1,2101,2024-11-01,100,S1,-5,,100", "ReturnTime", "needs ReturnTime"},
		{"return no amount", "score.csv", scoreHeader + ",ReturnTime,ReturnAmount", "T1,C1,2101,2024-11-01,100,S1,-5,2024-11-02,", "ReturnAmount", "needs ReturnAmount"},
		{"open enum word", "score.csv", scoreHeader + ",PayType", ok + ",微信", "PayType", "map the word"},
		{"member neither", "member.csv", "ThirdPartyCardID,Mobile", "',", "ThirdPartyCardID", "ThirdPartyCardID or Mobile"},
		{"member bad mobile", "member.csv", "ThirdPartyCardID,Mobile", ",1371234567", "Mobile", "11-digit"},
		{"member bad date", "member.csv", "ThirdPartyCardID,BusinessDate", "C1,2024-02-30", "BusinessDate", "business date"},
		{"grade long", "grade.csv", "ThirdPartyCardID,BeforeCardCode,AfterCardCode,ChangeType,ChangeTime,GradeChangeRuleID", "C1,a,b,0,2024-11-01,x", "GradeChangeRuleID", "integer"},
		{"verify status", "verify.csv", "RefID,BonusAction,Bonus,CurrentBonus,BonusVerifyStatus,BonusVerifyTime", "R1,4,1,1,0,2024-11-01", "BonusVerifyStatus", "1 approved, -1 refused"},
		{"bonus action word", "bonus.csv", "ThirdPartyCardID,BonusAction,GetBonus,AfterBonus,RefID,CreateTime", "C1,抽奖,1,1,R1,2024-11-01", "BonusAction", "not an integer code"},
		{"eventid scientific", "invalid.csv", "EventID,RefID,BonusAction", "1.2E+11,R1,4", "EventID", "scientific"},
		{"bad list json", "score-v2.csv", "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,PayAmount,CrmShopID,Score,ConsumePayList",
			`T1,C1,1,2024-11-01,1,S1,1,"[{""PayType"":""x""}]"`, "ConsumePayList", "item 1 PayType"},
		{"list not json", "score-v2.csv", "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,PayAmount,CrmShopID,Score,ConsumePromotionList",
			`T1,C1,1,2024-11-01,1,S1,1,微信`, "ConsumePromotionList", "JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), tc.file, csvText(tc.header, tc.row))
			row := oneRow(t, &Reader{}, p)
			prob := mustProblem(t, row)
			if prob.Column != tc.column {
				t.Errorf("Problem.Column = %q, want %q (reason %q)", prob.Column, tc.column, prob.Reason)
			}
			if !strings.Contains(prob.Reason, tc.reason) || !strings.Contains(prob.Reason, " / ") {
				t.Errorf("Problem.Reason = %q, want it to contain %q and Chinese / English", prob.Reason, tc.reason)
			}
			if row.Event != nil {
				t.Errorf("row has both a problem and an event")
			}
		})
	}
}

// Messy but valid cells.
func TestMessyCells(t *testing.T) {
	p := writeFile(t, t.TempDir(), "score.csv", csvText(scoreHeader+",PosID,PayType",
		`'0001,="0201710000001",消费积分,2024年11月1日 10:05:03," 1,280.50 ",S0012,+20,POS01,`,
		`T2,0201710000002, 1 ,20241101100503,+7,S1,0,,微信`))
	rows, _ := readAll(t, &Reader{Mappings: map[string]map[string]int{"paytype": {"微信": 12}}}, p)
	want := []string{
		`{"TransID":"0001","ThirdPartyCardID":"0201710000001","ScoreEvent":1,"TradeTime":"2024-11-01 10:05:03","TradeAmount":1280.5,"CrmShopID":"S0012","TradeSerialNo":"","PosID":"POS01","ReturnTime":"","ReturnAmount":null,"Score":20}`,
		`{"TransID":"T2","ThirdPartyCardID":"0201710000002","ScoreEvent":1,"TradeTime":"2024-11-01 10:05:03","TradeAmount":7,"CrmShopID":"S1","TradeSerialNo":"","PosID":"","ReturnTime":"","ReturnAmount":null,"Score":0,"PayType":12}`,
	}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows, want %d", len(rows), len(want))
	}
	for i, w := range want {
		if got := string(mustEvent(t, rows[i]).Body); got != w {
			t.Errorf("row %d Body = %s\nwant %s", i+2, got, w)
		}
	}
	if rows[0].Values[4] != "1,280.50" {
		t.Errorf("Values[TradeAmount] = %q, want the trimmed cell text", rows[0].Values[4])
	}
}

func TestNotAnExport(t *testing.T) {
	dir := t.TempDir()
	for name, code := range map[string]string{"notes.txt": ProblemFormat, "old.xls": ProblemFormat, "fake.xlsx": ""} {
		p := writeFile(t, dir, name, "hello")
		rows, sums := readAll(t, &Reader{}, p)
		if len(rows) != 0 || len(sums) != 1 || sums[0].Problem.IsZero() || sums[0].Code != code || sums[0].Path != p {
			t.Errorf("ReadFile(%s) = %d rows, %+v, want one file problem, code %q", name, len(rows), sums, code)
		}
	}
	rows, sums := readAll(t, &Reader{}, filepath.Join(dir, "gone.csv"))
	if len(rows) != 0 || len(sums) != 1 || sums[0].Problem.IsZero() {
		t.Errorf("ReadFile(missing file) = %+v, want a file problem", sums)
	}
}

func TestCallbackErrorAndCancel(t *testing.T) {
	p := writeFile(t, t.TempDir(), "invalid.csv", csvText("RefID,BonusAction", "R1,4", "R2,4"))
	stop := errors.New("stop")
	n := 0
	_, err := (&Reader{}).ReadFile(context.Background(), p, func(*crmsync.Row) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("ReadFile with a failing callback = %v after %d rows, want stop after 1", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (&Reader{}).ReadFile(ctx, p, func(*crmsync.Row) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadFile(cancelled) = %v, want context.Canceled", err)
	}
}

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.csv", "a.xlsx", "c.XLSM", "~$a.xlsx", ".hidden.csv", "notes.txt", "score-v2.csv",
		"score-v2.promotions.csv", "score-v2.payments.csv", "x.score-v2.payments.csv", "消费积分变更通知V2优惠明细.csv", "orders.支付明细.csv"} {
		writeFile(t, dir, n, "")
	}
	os.Mkdir(filepath.Join(dir, "sub.csv"), 0o755)
	other := writeFile(t, t.TempDir(), "notes.txt", "")
	got, err := Expand([]string{dir, other, filepath.Join(dir, "b.csv"), filepath.Join(dir, "score-v2.promotions.csv"), filepath.Join(dir, "x.score-v2.payments.csv")})
	if err != nil {
		t.Fatal(err)
	}
	// sub.csv, a directory, is listed so that ReadFile reports it.
	want := []string{filepath.Join(dir, "a.xlsx"), filepath.Join(dir, "b.csv"), filepath.Join(dir, "c.XLSM"),
		filepath.Join(dir, "score-v2.csv"), filepath.Join(dir, "sub.csv"), filepath.Join(dir, "x.score-v2.payments.csv"), other}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Expand (-want +got):\n%s", diff)
	}
	if _, err := Expand([]string{filepath.Join(dir, "missing.csv")}); err == nil || !strings.Contains(err.Error(), "missing.csv") {
		t.Errorf("Expand(missing) error = %v, want one naming the path", err)
	}
}

// TestExpandSameFileOnce: a file reached through several names — a
// symbolic link in the folder (2024-11-02_member.csv → the 11-01 file, whose
// member notices would go again under another business date), a hard link,
// the folder named twice by another path — is read once, under a name that
// is no symbolic link when it has one; the folder named twice gives each
// name once, and every other name is the file problem same-file (not
// dropped without a word).
func TestExpandSameFileOnce(t *testing.T) {
	dir := t.TempDir()
	real := writeFile(t, dir, "2024-11-01_member.csv", "ThirdPartyCardID\n0201710000001\n")
	if err := os.Symlink("2024-11-01_member.csv", filepath.Join(dir, "2024-11-02_member.csv")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(dir, "0-first.csv")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(real, filepath.Join(dir, "hard.csv")); err != nil {
		t.Skipf("hard link: %v", err)
	}
	other := writeFile(t, dir, "score.csv", "")
	alias := filepath.Join(t.TempDir(), "in")
	if err := os.Symlink(dir, alias); err != nil {
		t.Fatal(err)
	}
	got, err := Expand([]string{dir, alias, filepath.Join(alias, "score.csv")})
	if err != nil {
		t.Fatal(err)
	}
	// The folder named twice gives each name once; the other names of
	// the member file are kept, for ReadFiles to report.
	at := func(name string) string { return filepath.Join(dir, name) }
	want := []string{at("0-first.csv"), real, at("2024-11-02_member.csv"), at("hard.csv"), other}
	if !cmp.Equal(want, got) {
		t.Errorf("Expand = %q, want %q", got, want)
	}

	// ReadFiles reads the file once, under its own name (not a symbolic
	// link), and says of every other name that it is the same file.
	type sum struct{ path, code string }
	var sums []sum
	rows := 0
	err = (&Reader{Now: fixedNow}).ReadFiles(context.Background(), got, func(*crmsync.Row) error { rows++; return nil },
		func(fs []crmsync.FileSummary) error {
			for _, f := range fs {
				sums = append(sums, sum{f.Path, f.Code})
				if f.Code == ProblemSameFile && (!strings.Contains(f.Problem.String(), real) || f.Rows != 0) {
					t.Errorf("%s: problem %q, %d rows; want it to name %s and no rows", f.Path, f.Problem.String(), f.Rows, real)
				}
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	wantSums := []sum{{at("0-first.csv"), ProblemSameFile}, {real, ""}, {at("2024-11-02_member.csv"), ProblemSameFile},
		{at("hard.csv"), ProblemSameFile}, {other, ProblemEmpty}}
	if diff := cmp.Diff(wantSums, sums, cmp.AllowUnexported(sum{})); diff != "" {
		t.Errorf("ReadFiles summaries (-want +got):\n%s", diff)
	}
	if rows != 1 {
		t.Errorf("ReadFiles read %d rows, want the member file's 1 once", rows)
	}
	if n := CountRows(context.Background(), got); n != 1 {
		t.Errorf("CountRows = %d, want the member file's 1 once (the progress total)", n)
	}
}

// One Reader serves several files at once (run under -race).
func TestConcurrentReadFile(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i := 0; i < 4; i++ {
		paths = append(paths, writeFile(t, dir, fmt.Sprintf("invalid-%d.csv", i), csvText("RefID,BonusAction", "R1,4", "R2,积分调整")))
	}
	r := &Reader{Now: fixedNow, Mappings: map[string]map[string]int{"BonusAction": {"调整": 4}}}
	var wg sync.WaitGroup
	for _, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			_, err := r.ReadFile(context.Background(), p, func(row *crmsync.Row) error {
				if row.Event == nil {
					return fmt.Errorf("row %v: %v", row.Source, row.Problem)
				}
				n++
				return nil
			})
			if err != nil || n != 2 {
				t.Errorf("ReadFile(%s) = %d rows, %v, want 2 rows", p, n, err)
			}
		}()
	}
	wg.Wait()
}
