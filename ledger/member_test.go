package ledger

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
)

// TestPruneMember: crmsync prune -member removes one member's per-row
// results in every run (by lane, and an invalid row holding the card in a
// cell), keeps other members' results, the result an outstanding event of
// the member needs, and every event: a delivered event re-read afterwards
// is still unchanged, so it is not sent twice.
func TestPruneMember(t *testing.T) {
	ctx := context.Background()
	l, err := Open(ctx, filepath.Join(t.TempDir(), "l.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	unlock, _ := l.Lock("test")
	defer unlock()
	now := time.Now()
	res := func(seq int64, key, lane string, o crmsync.Outcome, body string, vals ...string) *crmsync.Result {
		r := &crmsync.Result{Seq: seq, Kind: crmsync.KindGrade, Key: key, Lane: lane, Outcome: o, Values: vals,
			Source: crmsync.SourceRef{File: "g.csv", Row: int(seq) + 1}}
		if body != "" {
			r.Body, r.Hash = []byte(body), crmsync.ContentHash(crmsync.KindGrade, []byte(body))
		}
		return r
	}
	run := func(rs []*crmsync.Result) int64 { return recordRun(t, l, now, rs) }
	first := run([]*crmsync.Result{
		res(1, "G1", "C0001", crmsync.OutcomeSent, `{"C":"C0001","G":1}`, "C0001", "1"),
		res(2, "G2", "C0002", crmsync.OutcomeSent, `{"C":"C0002","G":1}`, "C0002", "1"),
		res(3, "G3", "C0001", crmsync.OutcomeFailed, `{"C":"C0001","G":2}`, "C0001", "2"),
		res(4, "", "", crmsync.OutcomeInvalid, "", "C0001", "x"),
		res(5, "R9", "R9", crmsync.OutcomeSent, `{"R":"R9","C":"C0001"}`, "R9", "C0001"), // lane another ID, card in a cell
	})
	second := run([]*crmsync.Result{
		res(1, "G1", "C0001", crmsync.OutcomeUnchanged, `{"C":"C0001","G":1}`, "C0001", "1"),
		res(2, "G2", "C0002", crmsync.OutcomeUnchanged, `{"C":"C0002","G":1}`, "C0002", "1"),
	})

	p, err := l.PruneMember(ctx, "C0001")
	if err != nil {
		t.Fatal(err)
	}
	// Deleted: G1 twice and R9; kept: G3 (failed, outstanding) and the invalid row
	// (open: the backlog shows it).
	if p.Results != 3 || p.Kept != 2 {
		t.Errorf("PruneMember = %+v, want 3 results deleted, 2 kept (the failed event, the invalid row)", p)
	}
	left := func(id int64) (cards []string) {
		l.Results(ctx, id, "", func(r *crmsync.Result) error { cards = append(cards, r.Key+"/"+r.Lane); return nil })
		return cards
	}
	if got := left(first); len(got) != 3 {
		t.Errorf("first run's results after prune: %v, want G2, G3 and the invalid row", got)
	}
	if got := left(second); len(got) != 1 || got[0] != "G2/C0002" {
		t.Errorf("second run's results after prune: %v, want only G2/C0002", got)
	}
	body := []byte(`{"C":"C0001","G":1}`)
	ev := &crmsync.Event{Kind: crmsync.KindGrade, Key: "G1", Body: body, Hash: crmsync.ContentHash(crmsync.KindGrade, body)}
	known, err := l.Lookup(ctx, []*crmsync.Event{ev})
	if err != nil {
		t.Fatal(err)
	}
	if k := known[0]; crmsync.Diff(ev, k, false, nil).Outcome != crmsync.OutcomeUnchanged {
		t.Errorf("event G1 after prune -member: %+v; want it kept delivered (it prevents a second send)", k)
	}
	if _, err := l.PruneMember(ctx, " "); err == nil {
		t.Error("PruneMember of an empty card ID: no error")
	}
}

// TestPruneMemberForcedTextCard: an invalid row holds its cells as read,
// and Excel users force an ID to text ('C0001, ="C0001"): prune -member
// C0001 finds those rows too (here kept: the invalid rows are open), where
// it passed them by without a word, the card ID left in the ledger.
func TestPruneMemberForcedTextCard(t *testing.T) {
	ctx := context.Background()
	l, err := Open(ctx, filepath.Join(t.TempDir(), "l.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	unlock, _ := l.Lock("test")
	defer unlock()
	var rs []*crmsync.Result
	for i, card := range []string{"'C0001", "‘C0001", `="C0001"`, "C0001"} {
		rs = append(rs, &crmsync.Result{Seq: int64(i + 1), Kind: crmsync.KindGrade, Outcome: crmsync.OutcomeInvalid, Values: []string{card, "x"},
			Source: crmsync.SourceRef{File: "g.csv", Row: i + 2}})
	}
	recordRun(t, l, time.Now(), rs)
	p, err := l.PruneMember(ctx, "C0001")
	if err != nil {
		t.Fatal(err)
	}
	if p.Kept != 4 {
		t.Errorf("PruneMember = %+v, want the 4 invalid rows of C0001 kept (open) and counted", p)
	}
}
