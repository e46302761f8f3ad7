package ledger

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/google/go-cmp/cmp"
)

// count returns the rows of table.
func count(t *testing.T, l *Ledger, table string) int {
	t.Helper()
	var n int
	if err := l.db.QueryRowContext(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRowStoredOnce: a run that sends rows (recorded new, read from the
// queue, claimed, recorded sent, as the job does) stores each row's body
// and values once; a re-run that finds them unchanged stores neither
// again. Every run's results read back exactly as recorded: values (one
// with the encoding's separator in it), hash and body; a row with the same
// content but other cells keeps its own cells. The source file is named
// once.
func TestRowStoredOnce(t *testing.T) {
	ctx := context.Background()
	l := lockedLedger(t)
	const n = 30
	rows := func(o crmsync.Outcome) []*crmsync.Result {
		rs := make([]*crmsync.Result, n)
		for i := range rs {
			rs[i] = benchResult(int64(i+1), benchEvent(i))
			rs[i].Outcome = o
		}
		rs[3].Values[7] = "a\x1fb" // not the compact encoding: JSON
		return rs
	}
	first, err := l.BeginRun(ctx, "run", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Record(ctx, first, rows(crmsync.OutcomeNew)); err != nil {
		t.Fatal(err)
	}
	var queued []*crmsync.Result
	if err := l.Queued(ctx, first, func(r *crmsync.Result) error { queued = append(queued, r); return nil }); err != nil {
		t.Fatal(err)
	}
	claim := make([]*crmsync.Event, len(queued))
	for i, r := range queued {
		claim[i] = &crmsync.Event{Kind: r.Kind, Key: r.Key, Lane: r.Lane, Time: r.Time, Body: r.Body, Hash: r.Hash}
	}
	if err := l.Claim(ctx, first, claim); err != nil {
		t.Fatal(err)
	}
	sent := rows(crmsync.OutcomeSent)
	if err := l.Record(ctx, first, sent); err != nil {
		t.Fatal(err)
	}
	if b, c := count(t, l, "bodies"), count(t, l, "cells"); b != n || c != n {
		t.Errorf("after the run: %d bodies, %d cells; want %d of each", b, c, n)
	}
	again, err := l.BeginRun(ctx, "run", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	unchanged := rows(crmsync.OutcomeUnchanged)
	unchanged[5].Values[3] = "12.5" // the same content, written otherwise
	if err := l.Record(ctx, again, unchanged); err != nil {
		t.Fatal(err)
	}
	if b, c := count(t, l, "bodies"), count(t, l, "cells"); b != n || c != n+1 {
		t.Errorf("after the re-run: %d bodies, %d cells; want %d and %d", b, c, n, n+1)
	}
	if f := count(t, l, "files"); f != 1 {
		t.Errorf("after the re-run: %d files named, want 1 (score-20261124.csv)", f)
	}
	for _, run := range []struct {
		id   int64
		want []*crmsync.Result
	}{{first, sent}, {again, unchanged}} {
		var got []*crmsync.Result
		if err := l.Results(ctx, run.id, "", func(r *crmsync.Result) error { got = append(got, r); return nil }); err != nil {
			t.Fatal(err)
		}
		for _, r := range got {
			r.Time = r.Time.UTC()
		}
		for _, r := range run.want {
			r.Time = r.Time.UTC()
		}
		if diff := cmp.Diff(run.want, got); diff != "" {
			t.Errorf("results of run %d (-recorded +read):\n%s", run.id, diff)
		}
	}
}

// TestCellsHead: the head of a row's cells gives back its key, lane and
// time, whether they are among the values or not, and the values after it.
func TestCellsHead(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 0, 5, 0, time.UTC)
	hash := crmsync.ContentHash(crmsync.KindScore, []byte("{}"))
	for _, c := range []struct {
		vals      []string
		key, lane string
		t         time.Time
		hash      string
	}{
		{[]string{"T1", "C1", "x"}, "T1", "C1", at, ""},
		{[]string{"a", "b"}, "score-key", "", time.Time{}, hash},
		{[]string{"a\x1fb", "C1"}, "C1", "C1", at.Add(123 * time.Nanosecond), hash},
		{[]string{"x"}, "", "x", time.Unix(-5, 0), ""},
	} {
		hb, _ := hashArg(c.hash).([]byte)
		b := appendHeadCells(nil, c.vals, c.key, c.lane, c.t, hb)
		h, _, vs, ok, err := splitHead(b, time.UTC)
		if err != nil || !ok || h.key != c.key || h.lane != c.lane || !h.time.Equal(c.t) || h.hash != c.hash || !cmp.Equal(vs, c.vals) {
			t.Errorf("splitHead(appendHeadCells(%q, %q, %q, %v, %s)) = %+v, %q, %v, %v", c.vals, c.key, c.lane, c.t, c.hash, h, vs, ok, err)
		}
		if vs, err := parseValues(b); err != nil || !cmp.Equal(vs, c.vals) {
			t.Errorf("parseValues of cells with a head = %q, %v; want %q", vs, err, c.vals)
		}
	}
	if _, _, _, ok, err := splitHead(appendCells(nil, []string{"a"}), time.UTC); ok || err != nil {
		t.Errorf("splitHead of cells without a head: ok %v, %v", ok, err)
	}
	for _, bad := range []string{"\x02", "\x02\x05\x01\x00\x01a", "\x02\x00\x09ab"} {
		if _, _, _, _, err := splitHead([]byte(bad), time.UTC); err == nil {
			t.Errorf("splitHead(%q): no error", bad)
		}
	}
}

// TestUnchangedStoredNarrow: a re-run's unchanged rows, recorded as the
// diff records them (no answer, no reason), are kept as references in
// same, not as results rows: a few bytes each. Read back they are exactly
// what was recorded, in Seq order among the run's other rows (changed,
// duplicate, invalid, an unchanged row with a warning), by kind too; the
// counts of a run that never ended include them; prune and prune -member
// remove them and keep the bodies and cells events refer to.
func TestUnchangedStoredNarrow(t *testing.T) {
	ctx := context.Background()
	l := lockedLedger(t)
	const n = 40
	rows := func(o crmsync.Outcome) []*crmsync.Result {
		rs := make([]*crmsync.Result, n)
		for i := range rs {
			rs[i] = benchResult(int64(i+1), benchEvent(i))
			rs[i].Outcome = o
			if o != crmsync.OutcomeSent {
				rs[i].HasCode, rs[i].Code, rs[i].Message, rs[i].Attempts = false, 0, "", 0
			}
		}
		return rs
	}
	first, err := l.BeginRun(ctx, "run", nil, time.Unix(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	evs := make([]*crmsync.Event, n)
	for i := range evs {
		evs[i] = benchEvent(i)
	}
	if err := l.Claim(ctx, first, evs); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(ctx, first, rows(crmsync.OutcomeSent)); err != nil {
		t.Fatal(err)
	}
	s := crmsync.NewSummary(first, "run", time.Unix(1, 0))
	s.Ended = time.Unix(2, 0)
	if err := l.EndRun(ctx, s); err != nil {
		t.Fatal(err)
	}
	again, err := l.BeginRun(ctx, "run", nil, time.Unix(3, 0))
	if err != nil {
		t.Fatal(err)
	}
	rs := rows(crmsync.OutcomeUnchanged)
	rs[2].Outcome, rs[2].Reason, rs[2].Previous = crmsync.OutcomeChanged, "other", []byte(`{"old":1}`)
	other := benchEvent(1000)
	rs[2].Body, rs[2].Hash = other.Body, other.Hash
	rs[4].Outcome, rs[4].Reason = crmsync.OutcomeDuplicate, "dup"
	rs[6].Outcome, rs[6].Column, rs[6].Reason, rs[6].Body, rs[6].Hash, rs[6].Lane, rs[6].Time = crmsync.OutcomeInvalid, "Score", "bad", nil, "", "", time.Time{}
	rs[8].Reason = "warning: trimmed"
	rs[9].Source.Sheet = "Sheet1"
	rs[11].Kind = crmsync.KindGrade
	g := event(crmsync.KindGrade, rs[11].Key, `{"ThirdPartyCardID":"C1"}`)
	rs[11].Body, rs[11].Hash = g.Body, g.Hash
	if err := l.Record(ctx, again, rs[:20]); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(ctx, again, rs[20:]); err != nil {
		t.Fatal(err)
	}
	// Unchanged without a reason: all but 2, 4, 6, 8 (and 11, a grade
	// whose event is the score's: other content, but recorded unchanged
	// by the caller all the same).
	wantSame := n - 4
	if got, src := count(t, l, "same"), count(t, l, "sources"); got != wantSame || src != 2 {
		t.Errorf("%d rows in same, %d sources; want %d, and 2 (the file, and its Sheet1)", got, src, wantSame)
	}
	var inResults int
	if err := l.db.QueryRowContext(ctx, `SELECT count(*) FROM results WHERE run_id = ?`, again).Scan(&inResults); err != nil {
		t.Fatal(err)
	}
	if inResults != 4 {
		t.Errorf("%d rows of the re-run in results, want 4", inResults)
	}
	read := func(kind crmsync.Kind) []*crmsync.Result {
		var got []*crmsync.Result
		err := l.Results(ctx, again, kind, func(r *crmsync.Result) error {
			r.Time = r.Time.UTC()
			got = append(got, r)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, r := range rs {
		r.Time = r.Time.UTC()
	}
	if diff := cmp.Diff(rs, read("")); diff != "" {
		t.Errorf("results of the re-run (-recorded +read):\n%s", diff)
	}
	if diff := cmp.Diff(rs[11:12], read(crmsync.KindGrade)); diff != "" {
		t.Errorf("grade results of the re-run (-recorded +read):\n%s", diff)
	}
	sum, err := l.Summary(ctx, again) // not ended: counted from the rows
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != n || sum.Counts[crmsync.OutcomeUnchanged] != n-3 || sum.ByKind[crmsync.KindGrade][crmsync.OutcomeUnchanged] != 1 {
		t.Errorf("summary of the unended re-run: %d rows, %v, %v; want %d rows, %d unchanged, 1 grade", sum.Rows, sum.Counts, sum.ByKind, n, n-3)
	}
	pm, err := l.PruneMember(ctx, rs[0].Lane)
	if err != nil {
		t.Fatal(err)
	}
	if pm.Results != 2 { // the sent row and the unchanged one
		t.Errorf("prune -member %s removed %d results, want 2", rs[0].Lane, pm.Results)
	}
	if got := count(t, l, "same"); got != wantSame-1 {
		t.Errorf("%d rows in same after prune -member, want %d", got, wantSame-1)
	}
	s = crmsync.NewSummary(again, "run", time.Unix(3, 0))
	s.Ended = time.Unix(4, 0)
	if err := l.EndRun(ctx, s); err != nil {
		t.Fatal(err)
	}
	bodies, cells := count(t, l, "bodies"), count(t, l, "cells")
	p, err := l.Prune(ctx, time.Unix(5, 0))
	if err != nil {
		t.Fatal(err)
	}
	if got, src := count(t, l, "same"), count(t, l, "sources"); got != 0 || src != 0 || p.Results < wantSame-1 {
		t.Errorf("after prune: %d rows in same, %d sources, %+v; want none", got, src, p)
	}
	// The events keep their bodies and cells (40 of each), the changed
	// row (outstanding) its body, the invalid one (outstanding) its cells;
	// the grade row's went with it.
	if b, c := count(t, l, "bodies"), count(t, l, "cells"); b != n+1 || c != n+1 || bodies != n+2 || cells != n+2 {
		t.Errorf("after prune: %d bodies, %d cells (were %d, %d); want %d of each (were %d)", b, c, bodies, cells, n+1, n+2)
	}
	var got []*crmsync.Event
	err = l.Events(ctx, []crmsync.State{crmsync.StateSent}, func(ev *crmsync.Event, _ crmsync.Prior) error { got = append(got, ev); return nil })
	if err != nil || len(got) != n {
		t.Fatalf("sent events after prune: %d, %v", len(got), err)
	}
	for _, ev := range got {
		if want := benchEvent(0); ev.Key == want.Key && (string(ev.Body) != string(want.Body) || ev.Hash != want.Hash) {
			t.Errorf("event %s after prune: body %q, hash %s; want %q, %s", ev.Key, ev.Body, ev.Hash, want.Body, want.Hash)
		}
	}
}

// TestLookupRefsForNextWrite: what Lookup read of the events' bodies and
// cells serves the next write (Record after the diff's Lookup), and only
// if no other write came between.
func TestLookupRefsForNextWrite(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t, filepath.Join(t.TempDir(), "l.db"))
	id, unlock := lockAndBegin(t, l)
	defer unlock()
	sent, fresh := benchEvent(1), benchEvent(2)
	if err := l.Claim(ctx, id, []*crmsync.Event{sent}); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(ctx, id, []*crmsync.Result{benchResult(1, sent)}); err != nil {
		t.Fatal(err)
	}
	keys := []eventKey{keyOf(sent.Kind, sent.Key), keyOf(fresh.Kind, fresh.Key)}
	take := func() (refs map[eventKey]eventRef, missing []eventKey) {
		err := l.write(ctx, false, func(*sql.Conn) error {
			refs = map[eventKey]eventRef{}
			var ok bool
			if missing, ok = l.takeRefs(keys, refs); !ok {
				refs = nil
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return refs, missing
	}
	if _, err := l.Lookup(ctx, []*crmsync.Event{sent, fresh}); err != nil {
		t.Fatal(err)
	}
	refs, missing := take()
	r, ok := refs[keys[0]]
	if len(missing) != 0 || len(refs) != 1 || !ok || r.hash != sent.Hash || r.bodyID == 0 || r.cellsID == 0 || len(r.cells) == 0 {
		t.Errorf("after Lookup: refs %+v, missing %v; want the sent event's and none missing (the other is known to be new)", refs, missing)
	}
	if refs, missing = take(); refs != nil || len(missing) != 2 {
		t.Errorf("taken twice: refs %+v, missing %v; want none (each Lookup serves one write)", refs, missing)
	}
	if _, err := l.Lookup(ctx, []*crmsync.Event{sent, fresh}); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(ctx, id, []*crmsync.Event{sent}); err != nil { // a write between (that reads no refs)
		t.Fatal(err)
	}
	if refs, missing = take(); refs != nil || len(missing) != 2 {
		t.Errorf("after a write between: refs %+v, missing %v; want none", refs, missing)
	}
}

// TestOlderEventsTakeCellsWithHead: events recorded before schema 8 (cells
// without a head) or before 7 (no cells) refer, after their first
// unchanged row, to cells with a head: the next re-run stores no cells.
func TestOlderEventsTakeCellsWithHead(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t, filepath.Join(t.TempDir(), "l.db"))
	id, unlock := lockAndBegin(t, l)
	defer unlock()
	const n = 6
	rows := func(o crmsync.Outcome, seq int64) []*crmsync.Result {
		rs := make([]*crmsync.Result, n)
		for i := range rs {
			rs[i] = benchResult(seq+int64(i), benchEvent(i))
			if o != crmsync.OutcomeSent {
				rs[i].Outcome, rs[i].HasCode, rs[i].Code, rs[i].Message, rs[i].Attempts = o, false, 0, "", 0
			}
		}
		return rs
	}
	if err := l.Record(ctx, id, rows(crmsync.OutcomeSent, 1)); err != nil {
		t.Fatal(err)
	}
	// As older crmsyncs left them: half the events with cells in the
	// schema 7 encoding, half with none.
	for i, r := range rows(crmsync.OutcomeSent, 1) {
		k := keyOf(r.Kind, r.Key)
		if i%2 == 0 {
			if _, err := l.db.ExecContext(ctx, `UPDATE cells SET vals = ? WHERE id = (SELECT cells_id FROM events WHERE keyspace = ? AND key = ?)`,
				appendCells(nil, r.Values), k.space, k.key); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := l.db.ExecContext(ctx, `UPDATE events SET cells_id = NULL WHERE keyspace = ? AND key = ?`, k.space, k.key); err != nil {
			t.Fatal(err)
		}
	}
	before := count(t, l, "cells")
	if err := l.Record(ctx, id, rows(crmsync.OutcomeUnchanged, 101)); err != nil {
		t.Fatal(err)
	}
	first := count(t, l, "cells")
	if err := l.Record(ctx, id, rows(crmsync.OutcomeUnchanged, 201)); err != nil {
		t.Fatal(err)
	}
	if again := count(t, l, "cells"); first != before+n || again != first {
		t.Errorf("cells: %d before, %d after the first re-run, %d after the second; want %d, then no more", before, first, again, before+n)
	}
	var got []*crmsync.Result
	if err := l.Results(ctx, id, "", func(r *crmsync.Result) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3*n || got[2*n].Key != benchEvent(0).Key || got[2*n].Values[1] != benchEvent(0).Lane {
		t.Errorf("results: %d, want %d read back with their keys and values", len(got), 3*n)
	}
}
