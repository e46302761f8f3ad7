package importer

import (
	"strings"
	"testing"

	"github.com/crmsync/crmsync"
)

// TestScoreAndDateRules: each rule the vendor states for score rows, the
// date-only datetime, over-limit numbers and a mall's required fields, as a
// row read gives them: invalid with the column, or sent as shown with a
// warning naming the field.
func TestScoreAndDateRules(t *testing.T) {
	const scoreHead = "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,TradeSerialNo,PosID,ReturnTime,ReturnAmount,Score"
	for _, tc := range []struct {
		name   string
		reader Reader
		file   string
		head   string
		row    string
		column string // invalid on this column; "" when an event is built
		body   string // the body sent, when built
		warn   string // a warning naming this field, when built
	}{
		{name: "return amount negative", file: "score.csv", head: scoreHead,
			row: "R1,C1,2101,2024-11-01 10:00:00,100,S1,T1,,2024-11-02 10:00:00,-100,-100", column: "ReturnAmount"},
		{name: "return without amount", file: "score.csv", head: scoreHead,
			row: "R1,C1,2101,2024-11-01 10:00:00,100,S1,T1,,2024-11-02 10:00:00,,-100", column: "ReturnAmount"},
		{name: "return without time", file: "score.csv", head: scoreHead,
			row: "R1,C1,2101,2024-11-01 10:00:00,100,S1,T1,,,100,-100", column: "ReturnTime"},
		{name: "return score positive", file: "score.csv", head: scoreHead,
			row: "R1,C1,2101,2024-11-01 10:00:00,100,S1,T1,,2024-11-02 10:00:00,100,10", column: "Score"},
		{name: "sale score negative", file: "score.csv", head: scoreHead,
			row: "T1,C1,1,2024-11-01 10:00:00,100,S1,,,,,-5", column: "Score"},
		{name: "sale with return fields", file: "score.csv", head: scoreHead,
			row:  "T1,C1,1,2024-11-01 10:00:00,100,S1,,,2024-11-02 10:00:00,50,100",
			body: `{"TransID":"T1","ThirdPartyCardID":"C1","ScoreEvent":1,"TradeTime":"2024-11-01 10:00:00","TradeAmount":100,"CrmShopID":"S1","TradeSerialNo":"","PosID":"","ReturnTime":"","ReturnAmount":null,"Score":100}`,
			warn: "ReturnTime"},
		{name: "sale score 0", file: "score.csv", head: scoreHead,
			row:  "T1,C1,1,2024-11-01 10:00:00,100,S1,,,,,0",
			body: `{"TransID":"T1","ThirdPartyCardID":"C1","ScoreEvent":1,"TradeTime":"2024-11-01 10:00:00","TradeAmount":100,"CrmShopID":"S1","TradeSerialNo":"","PosID":"","ReturnTime":"","ReturnAmount":null,"Score":0}`,
			warn: "Score"},
		{name: "return score 0", file: "score-v2.csv", head: "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,PayAmount,CrmShopID,ReturnTime,ReturnAmount,Score",
			row:  "R1,C1,2101,2024-11-01 10:00:00,100,S1,2024-11-02 10:00:00,100,0",
			body: `{"TransID":"R1","ThirdPartyCardID":"C1","ScoreEvent":2101,"TradeTime":"2024-11-01 10:00:00","PayAmount":100,"CrmShopID":"S1","TradeSerialNo":null,"PosID":null,"ReturnTime":"2024-11-02 10:00:00","ReturnAmount":100,"Score":0}`,
			warn: "Score"},
		{name: "date alone", file: "score.csv", head: scoreHead,
			row:  "T1,C1,1,2024/11/1,100,S1,,,,,100",
			body: `{"TransID":"T1","ThirdPartyCardID":"C1","ScoreEvent":1,"TradeTime":"2024-11-01 00:00:00","TradeAmount":100,"CrmShopID":"S1","TradeSerialNo":"","PosID":"","ReturnTime":"","ReturnAmount":null,"Score":100}`,
			warn: "TradeTime"},
		{name: "date alone, strict", reader: Reader{StrictDateTime: true}, file: "score.csv", head: scoreHead,
			row: "T1,C1,1,2024-11-01,100,S1,,,,,100", column: "TradeTime"},
		{name: "midnight written", reader: Reader{StrictDateTime: true}, file: "score.csv", head: scoreHead,
			row:  "T1,C1,1,2024-11-01 00:00:00,100,S1,,,,,100",
			body: `{"TransID":"T1","ThirdPartyCardID":"C1","ScoreEvent":1,"TradeTime":"2024-11-01 00:00:00","TradeAmount":100,"CrmShopID":"S1","TradeSerialNo":"","PosID":"","ReturnTime":"","ReturnAmount":null,"Score":100}`},
		{name: "mall requires PosID", reader: Reader{Required: map[crmsync.Kind][]string{crmsync.KindScore: {"TradeSerialNo", "posid"}}}, file: "score.csv", head: scoreHead,
			row: "T1,C1,1,2024-11-01 10:00:00,100,S1,N1,,,,100", column: "PosID"},
		{name: "mall requires PosID, given", reader: Reader{Required: map[crmsync.Kind][]string{crmsync.KindScore: {"TradeSerialNo", "PosID"}}}, file: "score.csv", head: scoreHead,
			row:  "T1,C1,1,2024-11-01 10:00:00,100,S1,N1,P1,,,100",
			body: `{"TransID":"T1","ThirdPartyCardID":"C1","ScoreEvent":1,"TradeTime":"2024-11-01 10:00:00","TradeAmount":100,"CrmShopID":"S1","TradeSerialNo":"N1","PosID":"P1","ReturnTime":"","ReturnAmount":null,"Score":100}`},
		{name: "over-limit numbers", file: "over-limit.csv", head: "RefID,Value,RuleValue,ShopCode",
			row: `OL1,"5,000",3000.0,S1`, body: `{"RefID":"OL1","ShopCode":"S1","Value":"5000","RuleValue":"3000"}`},
		{name: "over-limit text value", file: "over-limit.csv", head: "RefID,Value,RuleValue",
			row: "OL1,五千,3000", body: `{"RefID":"OL1","Value":"五千","RuleValue":"3000"}`},
		{name: "mobile 12x", file: "member-20241101.csv", head: "ThirdPartyCardID,Mobile",
			row: ",12345678901", column: "Mobile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), tc.file, csvText(tc.head, tc.row))
			r := tc.reader
			row := oneRow(t, &r, p)
			if tc.column != "" {
				if prob := mustProblem(t, row); prob.Column != tc.column {
					t.Errorf("problem on %q (%s), want on %q", prob.Column, prob.Reason, tc.column)
				}
				return
			}
			ev := mustEvent(t, row)
			if string(ev.Body) != tc.body {
				t.Errorf("Body = %s\nwant   %s", ev.Body, tc.body)
			}
			warned := false
			for _, w := range row.Warnings {
				warned = warned || w.Column == tc.warn
			}
			if tc.warn != "" && !warned {
				t.Errorf("warnings %q, want one on %s", row.Warnings, tc.warn)
			}
			if tc.warn == "" && len(row.Warnings) > 0 {
				t.Errorf("warnings %q, want none", row.Warnings)
			}
		})
	}
}

// TestXLSXDateAlone: a date cell holding a whole serial (a date without a
// time of day) warns, or is invalid with StrictDateTime; a serial with a
// time does not warn.
func TestXLSXDateAlone(t *testing.T) {
	p := writeXLSX(t, t.TempDir(), "grade.xlsx", xsheet{"grade", [][]any{
		{"ThirdPartyCardID", "BeforeCardCode", "AfterCardCode", "ChangeType", "ChangeTime"},
		{"C1", "普卡", "银卡", 0, 45597},
		{"C2", "普卡", "银卡", 0, 45597.4375},
	}})
	rows, _ := readAll(t, &Reader{}, p)
	if len(rows) != 2 {
		t.Fatalf("got %d rows, want 2", len(rows))
	}
	ev := mustEvent(t, rows[0])
	if !strings.Contains(string(ev.Body), `"ChangeTime":"2024-11-01 00:00:00"`) || len(rows[0].Warnings) != 1 || rows[0].Warnings[0].Column != "ChangeTime" || rows[0].Warnings[0].Code != crmsync.ReasonDateOnly {
		t.Errorf("date alone: body %s, warnings %q; want 00:00:00 sent and a warning on ChangeTime", ev.Body, rows[0].Warnings)
	}
	if mustEvent(t, rows[1]); len(rows[1].Warnings) != 0 {
		t.Errorf("date and time: warnings %q, want none", rows[1].Warnings)
	}
	rows, _ = readAll(t, &Reader{StrictDateTime: true}, p)
	if prob := mustProblem(t, rows[0]); prob.Column != "ChangeTime" {
		t.Errorf("date alone, strict: problem on %q, want ChangeTime", prob.Column)
	}
}
