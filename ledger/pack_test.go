package ledger

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/crmsync/crmsync"
	"github.com/google/go-cmp/cmp"
)

// packCases hold date-times and runs of digits at every edge of what is
// packed: years 1900 and 2155, impossible fields, 7, 8, 19 and 20 digits,
// a run glued to a date-time, runs inside other text.
var packCases = []string{
	"2023-01-01 09:04:39", "1900-01-01 00:00:00", "2155-12-31 23:59:59", "1899-12-31 23:59:59", "2156-01-01 00:00:00",
	"2023-00-01 00:00:00", "2023-13-01 00:00:00", "2023-01-00 00:00:00", "2023-01-32 00:00:00", "2023-01-01 24:00:00",
	"2023-01-01 23:60:00", "2023-01-01 23:59:60", "2023-01-01T09:04:39", "2023-01-01 09:04:3", "2023-01-01 09:04:391",
	"12023-01-01 09:04:39", "x2023-01-01 09:04:39y", "2023-01-01 09:04:3912345678",
	"1234567", "12345678", "00000000", "0201700000009", "T0000000009", "R0000077776x", "9999999999999999999",
	"18446744073709551615", "99999999999999999999", "1234567890123456789012", "12.3456789012", "-123456789",
	"", "0", "POS01", "价格 2024-11-01 10:05:03 一二三", "0201700000009,0201700000010",
}

// TestBodyPacked: a body with date-times and runs of digits decodes to its
// very bytes, and a score body's are packed.
func TestBodyPacked(t *testing.T) {
	for _, v := range packCases {
		for _, body := range []string{v, `"` + v + `"`, `{"TransID":"` + v + `","Score":` + v + `}`} {
			stored := encodeBody(nil, []byte(body))
			if got, err := decodeBody(stored); err != nil || string(got) != body {
				t.Errorf("decodeBody(encodeBody(%q)) = %q, %v", body, got, err)
			}
		}
	}
	score := `{"TransID":"T0000000004","ThirdPartyCardID":"0201700000004","ScoreEvent":1,"TradeTime":"2023-01-01 09:02:04","TradeAmount":14.04,"CrmShopID":"S0004","TradeSerialNo":"","PosID":"POS01","ReturnTime":"2023-01-02 10:00:00","ReturnAmount":null,"Score":14}`
	before := len(score) - 11*len(`"TransID":`) // the field names as tokens: at most this
	if n := len(encodeBody(nil, []byte(score))); n > before-12-12-4-4 {
		t.Errorf("a score body of %d bytes is stored in %d, want its two date-times and two IDs packed (≤ %d)", len(score), n, before-32)
	}
	for _, bad := range []string{"\x00\x1f\xf0\x01", "\x00\x1f\xf0\xff\xff\xff\xff\xff", "\x00\x1f\xf1\x07\x01", "\x00\x1f\xf1\x08\xff\xff\xff\xff\xff\x7f", "\x00\x1f\xf2"} {
		if got, err := decodeBody([]byte(bad)); err == nil {
			t.Errorf("decodeBody(%q) = %q, want an error", bad, got)
		}
	}
}

// TestCellsPacked: a row's values with a head read back as they were,
// packed or not (a value holding the escape or the separator), and the
// head's key, lane, time and hash with them.
func TestCellsPacked(t *testing.T) {
	hash := crmsync.ContentHash(crmsync.KindScore, []byte(`{"a":1}`))
	hb, _ := hashArg(hash).([]byte)
	at := time.Date(2023, 1, 1, 9, 4, 39, 0, cst)
	for _, vs := range [][]string{
		packCases,
		{"T0000000009", "0201700000009", "2023-01-01 09:04:39", "", "19.09"},
		{"0201700000009", "with\x1eescape", "2023-01-01 09:04:39"},
		{"0201700000009", "with\x1fsep"},
		{""}, {"12345678"},
	} {
		b := appendHeadCells(nil, vs, vs[0], "lane-"+vs[0], at, hb)
		h, _, got, ok, err := splitHead(b, cst)
		if err != nil || !ok {
			t.Errorf("splitHead(appendHeadCells(%q)) = %v, %v", vs, ok, err)
			continue
		}
		if !slices.Equal(got, vs) || h.key != vs[0] || h.lane != "lane-"+vs[0] || !h.time.Equal(at) || h.hash != hash {
			t.Errorf("splitHead(appendHeadCells(%q)) = %+v, %q", vs, h, got)
		}
		if k, ok := keyOfHead(b); !ok || k != vs[0] {
			t.Errorf("keyOfHead(appendHeadCells(%q)) = %q, %v; want %q", vs, k, ok, vs[0])
		}
		for _, key := range vs { // the key as each value in turn (nthValue)
			if k, ok := keyOfHead(appendHeadCells(nil, vs, key, "", at, hb)); !ok || k != key {
				t.Errorf("keyOfHead(appendHeadCells(%q, key %q)) = %q, %v", vs, key, k, ok)
			}
		}
		if got := hashOfHead(b); got != hash {
			t.Errorf("hashOfHead(appendHeadCells(%q)) = %q, want %q", vs, got, hash)
		}
		if got, err := parseValues(b); err != nil || !slices.Equal(got, vs) {
			t.Errorf("parseValues(appendHeadCells(%q)) = %q, %v", vs, got, err)
		}
	}
	row := []string{"T0000000009", "0201700000009", "2101", "2023-01-01 09:04:39", "19.09", "S0009", "T0000000008", "POS01", "2023-01-01 11:04:39", "19.09", "-19", ""}
	packed := appendHeadCells(nil, row, row[0], row[1], at, hb)
	plain := appendCells(appendHead(nil, row, row[0], row[1], at, hb), row)
	if len(packed) > len(plain)-2*12-2*4 {
		t.Errorf("a score row's cells take %d bytes, %d unpacked; want its date-times and IDs packed", len(packed), len(plain))
	}
	// Cells with a head stored before schema 10 (values not packed) hold
	// what the packed ones do: a re-run refers to them.
	if !sameCells(plain, packed) || !sameCells(packed, packed) {
		t.Errorf("sameCells(unpacked, packed cells of the same row) = false, want true")
	}
	other := slices.Clone(row)
	other[4] = "19.10"
	if sameCells(plain, appendHeadCells(nil, other, row[0], row[1], at, hb)) || sameCells(plain, appendHeadCells(nil, row, row[0], row[1], at.Add(time.Second), hb)) {
		t.Errorf("sameCells(cells of a row, of another value or time) = true, want false")
	}
}

// appendHead is the head appendHeadCells writes, alone (the cells of
// schemas 8 and 9 are it and appendCells).
func appendHead(b []byte, vs []string, key, lane string, t time.Time, hash []byte) []byte {
	full := appendHeadCells(nil, vs, key, lane, t, hash)
	return append(b, full[:headEnd(full)]...)
}

// TestSentCounted: status counts sent events from sent_events (schema 10),
// which follows every change of an event's state or kind: sent, settled
// otherwise again, its kind changed within its key space, released.
func TestSentCounted(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t, filepath.Join(t.TempDir(), "crmsync.db"))
	run := beginRun(t, l)
	check := func(step string) {
		t.Helper()
		want := map[crmsync.Kind]map[crmsync.State]int{}
		rows, err := l.db.QueryContext(ctx, `SELECT kind, state, count(*) FROM events GROUP BY kind, state`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var k, s string
			var n int
			if err := rows.Scan(&k, &s, &n); err != nil {
				t.Fatal(err)
			}
			if want[crmsync.Kind(k)] == nil {
				want[crmsync.Kind(k)] = map[crmsync.State]int{}
			}
			want[crmsync.Kind(k)][crmsync.State(s)] = n
		}
		rows.Close()
		st, err := l.Status(ctx, 1)
		if err != nil {
			t.Fatalf("%s: Status() = %v", step, err)
		}
		if diff := cmp.Diff(want, st.Totals); diff != "" {
			t.Errorf("%s: Status().Totals differ from the events (-events +status):\n%s", step, diff)
		}
	}
	var evs []*crmsync.Event
	for i := range 6 {
		evs = append(evs, event(crmsync.KindScore, fmt.Sprintf("T%d", i), fmt.Sprintf(`{"t":%d}`, i)))
	}
	g := event(crmsync.KindGrade, "G1", `{"g":1}`)
	if err := l.Claim(ctx, run, append(slices.Clone(evs), g)); err != nil {
		t.Fatal(err)
	}
	check("claimed")
	var rs []*crmsync.Result
	for i, ev := range evs {
		rs = append(rs, result(int64(i+1), ev, crmsync.OutcomeSent, 1, 1))
	}
	rs = append(rs, result(7, g, crmsync.OutcomeSent, 1, 1))
	if err := l.Record(ctx, run, rs); err != nil {
		t.Fatal(err)
	}
	check("sent")
	// Settled again otherwise, and of the other score kind (one key space).
	v2 := *evs[1]
	v2.Kind = crmsync.KindScoreV2
	again := []*crmsync.Result{
		result(8, evs[0], crmsync.OutcomeRejected, 2101, 1),
		result(9, &v2, crmsync.OutcomeSent, 1, 1),
		result(10, g, crmsync.OutcomeFailed, 0, 1),
	}
	if err := l.Record(ctx, run, again); err != nil {
		t.Fatal(err)
	}
	check("settled again")
	// Claimed again (in flight), then released: known before, left failed.
	if err := l.Claim(ctx, run, evs[2:4]); err != nil {
		t.Fatal(err)
	}
	check("claimed again")
	if err := l.Release(ctx, run, evs[2:3]); err != nil {
		t.Fatal(err)
	}
	check("released")
	if err := l.Record(ctx, run, []*crmsync.Result{result(11, evs[2], crmsync.OutcomeSent, 1, 1), result(12, evs[3], crmsync.OutcomeSent, 1, 1)}); err != nil {
		t.Fatal(err)
	}
	check("sent again")
	if _, err := l.db.ExecContext(ctx, `DELETE FROM events WHERE key = 'T5'`); err != nil {
		t.Fatal(err)
	}
	check("deleted")
}

// TestSentLaneInHead: a sent event keeps its lane in its cells' head only
// (schema 10); when it is no longer sent (a person has its changed row
// resent) its lane is back in the column Held reads, so it holds back its
// member's later events of its kind.
func TestSentLaneInHead(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t, filepath.Join(t.TempDir(), "crmsync.db"))
	unlock, err := l.Lock("test")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	g := event(crmsync.KindGrade, "G1", `{"GradeChangeID":"G1","AfterCardCode":"银卡"}`)
	sent := result(1, g, crmsync.OutcomeSent, 1, 1)
	sent.Values = []string{"G1", g.Lane, "银卡"}
	first, err := l.BeginRun(ctx, "run", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Claim(ctx, first, []*crmsync.Event{g}); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(ctx, first, []*crmsync.Result{sent}); err != nil {
		t.Fatal(err)
	}
	var lane string
	if err := l.db.QueryRowContext(ctx, `SELECT lane FROM events WHERE key = 'G1'`).Scan(&lane); err != nil || lane != "" {
		t.Errorf("lane column of a sent event = %q, %v; want it empty (in the head)", lane, err)
	}
	// The same change with other content: changed, resent by a person.
	g2 := event(crmsync.KindGrade, "G1", `{"GradeChangeID":"G1","AfterCardCode":"金卡"}`)
	changed := result(1, g2, crmsync.OutcomeChanged, 0, 0)
	changed.HasCode, changed.Message, changed.Values = false, "", []string{"G1", g.Lane, "金卡"}
	second, err := l.BeginRun(ctx, "run", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Record(ctx, second, []*crmsync.Result{changed}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Resolve(ctx, crmsync.KindGrade, []string{"G1"}, DecideResend, "test", "resend"); err != nil {
		t.Fatalf("Resolve(G1, resend) = %v", err)
	}
	hs, err := l.Held(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 1 || hs[0].Key != "G1" || hs[0].Lane != g.Lane {
		t.Errorf("Held() = %+v, want G1 in lane %q", hs, g.Lane)
	}
	var got []string
	err = l.Events(ctx, []crmsync.State{crmsync.StateFailed, crmsync.StateSent}, func(ev *crmsync.Event, p crmsync.Prior) error {
		got = append(got, ev.Key+" "+ev.Lane+" "+string(p.State))
		return nil
	})
	if err != nil || !slices.Equal(got, []string{"G1 " + g.Lane + " failed"}) {
		t.Errorf("Events(failed, sent) = %q, %v; want G1 in its lane, failed", got, err)
	}
}

// FuzzBodyPack: any body, packed or stored as it is, decodes to its very
// bytes, and is the same body (sameBody) as itself and no other.
func FuzzBodyPack(f *testing.F) {
	for _, v := range packCases {
		f.Add([]byte(`{"TransID":"`+v+`","TradeTime":"`+v+`","Score":`+v+`}`), []byte(v))
	}
	f.Add([]byte("\x00\x1f\xf0"), []byte("\x1f\xf1\x08"))
	f.Fuzz(func(t *testing.T, body, other []byte) {
		stored := encodeBody(nil, body)
		got, err := decodeBody(stored)
		if err != nil || string(got) != string(body) {
			t.Fatalf("decodeBody(encodeBody(%q)) = %q, %v", body, got, err)
		}
		if !sameBody(stored, body) {
			t.Fatalf("sameBody(encodeBody(%q), itself) = false", body)
		}
		if string(other) != string(body) && sameBody(stored, other) {
			t.Fatalf("sameBody(encodeBody(%q), %q) = true", body, other)
		}
		decodeBody(other) // never panics on bytes it did not write
	})
}

// FuzzCellsPack: any row's values with any key, lane, time and hash read
// back as they were (splitHead, parseValues, keyOfHead, hashOfHead), and
// the cells are the same (sameCells) only as cells of the same row.
func FuzzCellsPack(f *testing.F) {
	for _, v := range packCases {
		f.Add(v+"\x00T0000000009\x000201700000009", 0, "lane", int64(1672535079), true)
	}
	f.Add("with\x1eescape\x00with\x1fsep", 1, "", int64(0), false)
	f.Fuzz(func(t *testing.T, joined string, keyAt int, lane string, unix int64, withHash bool) {
		if !utf8.ValidString(joined) || !utf8.ValidString(lane) {
			t.Skip("the reader refuses a cell that is not UTF-8 (importer/read_csv.go)")
		}
		vs := strings.Split(joined, "\x00")
		key := lane + "k"
		if keyAt >= 0 && keyAt < len(vs) {
			key = vs[keyAt]
		}
		at := time.Unix(unix%(1<<40), 0).In(cst)
		var hb []byte
		hash := ""
		if withHash {
			hash = crmsync.ContentHash(crmsync.KindScore, []byte(joined))
			hb, _ = hashArg(hash).([]byte)
		}
		b := appendHeadCells(nil, vs, key, lane, at, hb)
		h, _, got, ok, err := splitHead(b, cst)
		if err != nil || !ok || !slices.Equal(got, vs) || h.key != key || h.lane != lane || !h.time.Equal(at) || h.hash != hash {
			t.Fatalf("splitHead(appendHeadCells(%q, %q, %q)) = %q %q %v %q, %q, %v, %v; want time %v hash %q", vs, key, lane, h.key, h.lane, h.time, h.hash, got, ok, err, at, hash)
		}
		if got, err := parseValues(b); err != nil || !slices.Equal(got, vs) {
			t.Fatalf("parseValues(appendHeadCells(%q)) = %q, %v", vs, got, err)
		}
		if k, ok := keyOfHead(b); !ok || k != key {
			t.Fatalf("keyOfHead(appendHeadCells(%q, key %q)) = %q, %v", vs, key, k, ok)
		}
		if got := hashOfHead(b); got != hash {
			t.Fatalf("hashOfHead = %q, want %q", got, hash)
		}
		if !sameCells(b, b) {
			t.Fatalf("sameCells(cells, themselves) = false")
		}
		other := slices.Clone(vs)
		other[len(other)-1] += "0"
		if sameCells(b, appendHeadCells(nil, other, key, lane, at, hb)) {
			t.Fatalf("sameCells(cells of %q, of %q) = true", vs, other)
		}
	})
}
