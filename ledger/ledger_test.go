package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/google/go-cmp/cmp"
)

// crashChild is the environment variable that makes the test binary play a
// crmsync run that claims events and waits to be killed.
const crashChild = "LEDGER_TEST_CRASH_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChild); path != "" {
		os.Exit(claimAndWait(path))
	}
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// claimAndWait locks the ledger at path, begins a run, claims a grade and a
// score event, says "claimed" on stdout and waits to be killed.
func claimAndWait(path string) int {
	ctx := context.Background()
	l, err := Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := l.Lock("run"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	id, err := l.BeginRun(ctx, "run", nil, time.Now())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := l.Claim(ctx, id, crashEvents()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("claimed")
	select {}
}

func crashEvents() []*crmsync.Event {
	return []*crmsync.Event{event(crmsync.KindGrade, "G1", `{"g":1}`), event(crmsync.KindScore, "T1", `{"t":1}`)}
}

// openLedger opens a ledger at path and closes it when the test ends.
func openLedger(t testing.TB, path string) *Ledger {
	t.Helper()
	l, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%q) = %v", path, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// lockedLedger opens a new ledger in a temporary folder and locks it; the
// lock is released and the ledger closed when the test ends.
func lockedLedger(t testing.TB) *Ledger {
	t.Helper()
	l := openLedger(t, filepath.Join(t.TempDir(), "l.db"))
	unlock, err := l.Lock("test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unlock() })
	return l
}

// beginRun locks l and begins a run; the lock is released when the test ends.
func beginRun(t testing.TB, l *Ledger) int64 {
	t.Helper()
	id, unlock := lockAndBegin(t, l)
	t.Cleanup(func() { unlock() })
	return id
}

// recordRun records rs as a whole run of the locked l that started and
// ended at at, and returns its ID.
func recordRun(t testing.TB, l *Ledger, at time.Time, rs []*crmsync.Result) int64 {
	t.Helper()
	ctx := context.Background()
	id, err := l.BeginRun(ctx, "run", nil, at)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Record(ctx, id, rs); err != nil {
		t.Fatal(err)
	}
	s := crmsync.NewSummary(id, "run", at)
	s.Ended, s.Rows = at, len(rs)
	if err := l.EndRun(ctx, s); err != nil {
		t.Fatal(err)
	}
	return id
}

// lockAndBegin locks l and begins a run, leaving the unlocking to the caller.
func lockAndBegin(t testing.TB, l *Ledger) (int64, func() error) {
	t.Helper()
	unlock, err := l.Lock("run")
	if err != nil {
		t.Fatalf("Lock() = %v", err)
	}
	id, err := l.BeginRun(context.Background(), "run", []string{"in.csv"}, time.Now())
	if err != nil {
		unlock()
		t.Fatalf("BeginRun() = %v", err)
	}
	return id, unlock
}

var t0 = time.Date(2026, 11, 24, 9, 30, 0, 0, cst)

func event(kind crmsync.Kind, key, body string) *crmsync.Event {
	return &crmsync.Event{
		Kind: kind,
		Key:  key,
		Lane: "card-" + key,
		Time: t0,
		Body: []byte(body),
		Hash: crmsync.ContentHash(kind, []byte(body)),
	}
}

// result is the result of sending ev with outcome o and Mallcoo's code.
func result(seq int64, ev *crmsync.Event, o crmsync.Outcome, code int, attempts int) *crmsync.Result {
	return &crmsync.Result{
		Seq:      seq,
		Source:   crmsync.SourceRef{File: "in.csv", Row: int(seq) + 1},
		Kind:     ev.Kind,
		Key:      ev.Key,
		Lane:     ev.Lane,
		Time:     ev.Time,
		Outcome:  o,
		HasCode:  o != crmsync.OutcomeFailed,
		Code:     code,
		Message:  fmt.Sprintf("code %d", code),
		Attempts: attempts,
		Body:     ev.Body,
		Hash:     ev.Hash,
	}
}

func TestOpenMigratesAndReopens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crmsync.db")
	l := openLedger(t, path)
	st, err := l.Status(ctx, 5)
	if err != nil {
		t.Fatalf("Status() = %v", err)
	}
	if st.Schema != SchemaVersion() || st.Schema < 1 {
		t.Errorf("Status().Schema = %d, want %d", st.Schema, SchemaVersion())
	}
	id := beginRun(t, l)
	if err := l.Claim(ctx, id, []*crmsync.Event{event(crmsync.KindScore, "T1", `{"a":1}`)}); err != nil {
		t.Fatalf("Claim() = %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	l = openLedger(t, path)
	st, err = l.Status(ctx, 5)
	if err != nil {
		t.Fatalf("Status() after reopen = %v", err)
	}
	if st.Schema != SchemaVersion() {
		t.Errorf("Status().Schema after reopen = %d, want %d", st.Schema, SchemaVersion())
	}
	if got := st.Totals[crmsync.KindScore][crmsync.StateInFlight]; got != 1 {
		t.Errorf("in-flight score events after reopen = %d, want 1", got)
	}
	var mode string
	if err := l.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

func TestOpenConcurrentlyOnNewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crmsync.db")
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			l, err := Open(context.Background(), path)
			if err == nil {
				err = l.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("Open() of a new file by several at once = %v", err)
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crmsync.db")
	l := openLedger(t, path)
	l.Close()
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(fmt.Sprintf("PRAGMA user_version = %d", SchemaVersion()+1)); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	_, err = Open(context.Background(), path)
	var ne *NewerSchemaError
	if !errors.As(err, &ne) {
		t.Fatalf("Open(newer ledger) = %v, want *NewerSchemaError", err)
	}
	if ne.Schema != SchemaVersion()+1 || ne.Known != SchemaVersion() {
		t.Errorf("NewerSchemaError = %+v, want Schema %d Known %d", ne, SchemaVersion()+1, SchemaVersion())
	}
	want := fmt.Sprintf("ledger %s was written by a newer crmsync (schema %d, this one knows %d); upgrade crmsync", path, SchemaVersion()+1, SchemaVersion())
	if err.Error() != want {
		t.Errorf("Open(newer ledger) error = %q, want %q", err, want)
	}
}

func TestOpenRefusesOtherDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.db")
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("CREATE TABLE t (x)"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if _, err := Open(context.Background(), path); err == nil || !strings.Contains(err.Error(), "not a crmsync ledger") {
		t.Errorf("Open(other database) = %v, want an error saying it is not a crmsync ledger", err)
	}
}

func TestLookup(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t, filepath.Join(t.TempDir(), "crmsync.db"))
	id := beginRun(t, l)

	sent := event(crmsync.KindScore, "T1", `{"TransID":"T1"}`)
	rejected := event(crmsync.KindGrade, "G1", `{"grade":1}`)
	failed := event(crmsync.KindBonus, "B1", `{"bonus":1}`)
	claimed := event(crmsync.KindMember, "M1", `{"m":1}`)
	evs := []*crmsync.Event{sent, rejected, failed, claimed}
	if err := l.Claim(ctx, id, evs); err != nil {
		t.Fatalf("Claim() = %v", err)
	}
	rs := []*crmsync.Result{
		result(1, sent, crmsync.OutcomeSent, 1, 1),
		result(2, rejected, crmsync.OutcomeRejected, 1002, 1),
		result(3, failed, crmsync.OutcomeFailed, 0, 4),
	}
	if err := l.Record(ctx, id, rs); err != nil {
		t.Fatalf("Record() = %v", err)
	}

	asV2 := event(crmsync.KindScoreV2, "T1", `{"TransID":"T1","v":2}`)
	unknown := event(crmsync.KindScore, "T2", `{}`)
	otherSpace := event(crmsync.KindBonus, "T1", `{}`) // same key, other key space
	got, err := l.Lookup(ctx, []*crmsync.Event{unknown, sent, asV2, rejected, failed, claimed, otherSpace, sent})
	if err != nil {
		t.Fatalf("Lookup() = %v", err)
	}
	sentPrior := crmsync.Prior{State: crmsync.StateSent, Kind: crmsync.KindScore, Hash: sent.Hash, Body: sent.Body, HasCode: true, Code: 1, Message: "code 1", Attempts: 1}
	want := []crmsync.Prior{
		{},
		sentPrior,
		sentPrior,
		{State: crmsync.StateRejected, Kind: crmsync.KindGrade, Hash: rejected.Hash, Body: rejected.Body, HasCode: true, Code: 1002, Message: "code 1002", Attempts: 1},
		{State: crmsync.StateFailed, Kind: crmsync.KindBonus, Hash: failed.Hash, Body: failed.Body, Message: "code 0", Attempts: 4},
		{State: crmsync.StateInFlight, Kind: crmsync.KindMember, Hash: claimed.Hash, Body: claimed.Body},
		{},
		sentPrior,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Lookup() mismatch (-want +got):\n%s", diff)
	}
}

func TestLookupManyBatches(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t, filepath.Join(t.TempDir(), "crmsync.db"))
	id := beginRun(t, l)
	var known, all []*crmsync.Event
	for i := range 1203 {
		ev := event(crmsync.KindScore, fmt.Sprintf("T%05d", i), fmt.Sprintf(`{"i":%d}`, i))
		all = append(all, ev)
		if i%3 == 0 {
			known = append(known, ev)
		}
	}
	if err := l.Claim(ctx, id, known); err != nil {
		t.Fatalf("Claim() = %v", err)
	}
	got, err := l.Lookup(ctx, all)
	if err != nil {
		t.Fatalf("Lookup() = %v", err)
	}
	for i, p := range got {
		want := crmsync.StateNone
		if i%3 == 0 {
			want = crmsync.StateInFlight
		}
		if p.State != want || (want != crmsync.StateNone && p.Hash != all[i].Hash) {
			t.Errorf("Lookup()[%d] = %q %q, want %q %q", i, p.State, p.Hash, want, all[i].Hash)
		}
	}
}

func TestClaimThenCrashLeavesUncertain(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crmsync.db")
	l := openLedger(t, path)
	id, unlock := lockAndBegin(t, l)
	grade := event(crmsync.KindGrade, "G1", `{"g":1}`)
	score := event(crmsync.KindScore, "T1", `{"t":1}`)
	if err := l.Claim(ctx, id, []*crmsync.Event{grade, score}); err != nil {
		t.Fatalf("Claim() = %v", err)
	}
	// The run dies: no Record, no EndRun.
	unlock()
	l.Close()

	l = openLedger(t, path)
	st, err := l.Status(ctx, 5)
	if err != nil {
		t.Fatalf("Status() = %v", err)
	}
	if len(st.Runs) != 1 || st.Runs[0].Status != RunDied {
		t.Errorf("Status().Runs = %+v, want one died run", st.Runs)
	}
	beginRun(t, l)
	got, err := l.Lookup(ctx, []*crmsync.Event{grade, score})
	if err != nil {
		t.Fatalf("Lookup() = %v", err)
	}
	for i, p := range got {
		if p.State != crmsync.StateUncertain {
			t.Errorf("Lookup()[%d].State after a dead run = %q, want %q", i, p.State, crmsync.StateUncertain)
		}
	}
	st, err = l.Status(ctx, 5)
	if err != nil {
		t.Fatalf("Status() = %v", err)
	}
	if st.Held != 2 {
		t.Errorf("Status().Held = %d, want 2 (the grade, and the score: nothing says Mallcoo refuses a repeated TransID)", st.Held)
	}
	var n int
	err = l.Events(ctx, []crmsync.State{crmsync.StateUncertain}, func(ev *crmsync.Event, p crmsync.Prior) error {
		n++
		want := grade
		if ev.Kind == crmsync.KindScore {
			want = score
		}
		if diff := cmp.Diff(want, ev); diff != "" {
			t.Errorf("Events() event mismatch (-want +got):\n%s", diff)
		}
		return nil
	})
	if err != nil || n != 2 {
		t.Errorf("Events(uncertain) = %d events, %v; want 2, nil", n, err)
	}
}

// TestKilledRun kills (SIGKILL) a process that has claimed events and is
// holding the run lock: the lock is free at once, and the claims are there,
// uncertain.
func TestKilledRun(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crmsync.db")
	cmd := startCrashChild(t, path)
	l := openLedger(t, path)
	var le *LockedError
	if _, err := l.Lock("run"); !errors.As(err, &le) || le.PID != cmd.Process.Pid {
		t.Errorf("Lock() while the child runs = %v, want *LockedError naming pid %d", err, cmd.Process.Pid)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	beginRun(t, l)
	got, err := l.Lookup(ctx, crashEvents())
	if err != nil {
		t.Fatalf("Lookup() = %v", err)
	}
	for i, p := range got {
		if p.State != crmsync.StateUncertain {
			t.Errorf("Lookup()[%d].State after the run was killed = %q, want %q", i, p.State, crmsync.StateUncertain)
		}
	}
	st, err := l.Status(ctx, 5)
	if err != nil {
		t.Fatalf("Status() = %v", err)
	}
	if len(st.Runs) != 2 || st.Runs[1].Status != RunDied {
		t.Errorf("Status().Runs = %+v, want the killed run died", st.Runs)
	}
}

func TestBeginRunNeedsLock(t *testing.T) {
	l := openLedger(t, filepath.Join(t.TempDir(), "crmsync.db"))
	if _, err := l.BeginRun(context.Background(), "run", nil, time.Now()); err == nil {
		t.Errorf("BeginRun() without Lock = nil error, want one")
	}
}

func TestRecordSettlesAndCountsAttempts(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t, filepath.Join(t.TempDir(), "crmsync.db"))
	id := beginRun(t, l)

	ev := event(crmsync.KindBonus, "B1", `{"b":1}`)
	if err := l.Claim(ctx, id, []*crmsync.Event{ev}); err != nil {
		t.Fatalf("Claim() = %v", err)
	}
	if err := l.Record(ctx, id, []*crmsync.Result{result(1, ev, crmsync.OutcomeFailed, 0, 3)}); err != nil {
		t.Fatalf("Record(failed) = %v", err)
	}
	fixed := event(crmsync.KindBonus, "B1", `{"b":2}`)
	if err := l.Record(ctx, id, []*crmsync.Result{result(2, fixed, crmsync.OutcomeSent, 1, 2)}); err != nil {
		t.Fatalf("Record(sent) = %v", err)
	}
	// Outcomes that settle nothing leave the event alone.
	if err := l.Record(ctx, id, []*crmsync.Result{result(3, ev, crmsync.OutcomeChanged, 0, 0)}); err != nil {
		t.Fatalf("Record(changed) = %v", err)
	}
	// A settled result for an event never claimed inserts it.
	fresh := event(crmsync.KindVerify, "V1", `{"v":1}`)
	if err := l.Record(ctx, id, []*crmsync.Result{result(4, fresh, crmsync.OutcomeRejected, 7, 1)}); err != nil {
		t.Fatalf("Record(rejected, unclaimed) = %v", err)
	}
	got, err := l.Lookup(ctx, []*crmsync.Event{ev, fresh})
	if err != nil {
		t.Fatalf("Lookup() = %v", err)
	}
	want := []crmsync.Prior{
		{State: crmsync.StateSent, Kind: crmsync.KindBonus, Hash: fixed.Hash, Body: fixed.Body, HasCode: true, Code: 1, Message: "code 1", Attempts: 5},
		{State: crmsync.StateRejected, Kind: crmsync.KindVerify, Hash: fresh.Hash, Body: fresh.Body, HasCode: true, Code: 7, Message: "code 7", Attempts: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Lookup() after Record mismatch (-want +got):\n%s", diff)
	}

}

func TestResultsRoundTrip(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t, filepath.Join(t.TempDir(), "crmsync.db"))
	id := beginRun(t, l)

	rs := []*crmsync.Result{
		{
			Seq: 3, Source: crmsync.SourceRef{File: "day.xlsx", Sheet: "score", Row: 4}, Kind: crmsync.KindScore,
			Key: "T3", Lane: "C1", Time: t0.Add(time.Hour), Values: []string{"T3", "C1", "12.50", ""},
			Outcome: crmsync.OutcomeChanged, Reason: "sent before with other content", Attempts: 0,
			Body: []byte(`{"new":1}`), Hash: "h3", Previous: []byte(`{"old":1}`),
		},
		{
			Seq: 1, Source: crmsync.SourceRef{File: "day.xlsx", Sheet: "score", Row: 2}, Kind: crmsync.KindScore,
			Key: "T1", Lane: "C1", Time: t0, Values: []string{"T1", "C1", "10.00", "门店"},
			Outcome: crmsync.OutcomeSent, HasCode: true, Code: 1, Message: "成功", Attempts: 2,
			Body: []byte(`{"TransID":"T1"}`), Hash: "h1",
		},
		{
			Seq: 2, Source: crmsync.SourceRef{File: "day.xlsx", Sheet: "grade", Row: 2}, Kind: crmsync.KindGrade,
			Key: "", Values: []string{"", "bad"}, Outcome: crmsync.OutcomeInvalid, Column: "CardNo", Reason: "empty",
		},
		{
			Seq: 4, Source: crmsync.SourceRef{File: "day.xlsx", Sheet: "score", Row: 5}, Kind: crmsync.KindScore,
			Key: "T4", Lane: "C2", Time: t0, Values: []string{"T4"},
			Outcome: crmsync.OutcomeRejected, HasCode: true, Code: 0, Message: "", Attempts: 1,
			Body: []byte(`{"TransID":"T4"}`), Hash: "h4",
		},
	}
	if err := l.Record(ctx, id, rs); err != nil {
		t.Fatalf("Record() = %v", err)
	}
	var got []*crmsync.Result
	err := l.Results(ctx, id, crmsync.KindScore, func(r *crmsync.Result) error {
		got = append(got, r)
		return nil
	})
	if err != nil {
		t.Fatalf("Results(score) = %v", err)
	}
	want := []*crmsync.Result{rs[1], rs[0], rs[3]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Results(score) mismatch (-want +got):\n%s", diff)
	}
	if len(got) > 0 && got[0].Time.Location() != cst {
		t.Errorf("Results(score)[0].Time zone = %v, want CST", got[0].Time.Location())
	}

	var seqs []int64
	err = l.Results(ctx, id, "", func(r *crmsync.Result) error {
		seqs = append(seqs, r.Seq)
		return nil
	})
	if err != nil {
		t.Fatalf("Results(all) = %v", err)
	}
	if diff := cmp.Diff([]int64{1, 2, 3, 4}, seqs); diff != "" {
		t.Errorf("Results(all) seqs mismatch (-want +got):\n%s", diff)
	}

	stop := errors.New("stop")
	n := 0
	err = l.Results(ctx, id, "", func(*crmsync.Result) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("Results(fn fails) = %v after %d rows, want the fn's error after 1", err, n)
	}

}

// TestRecordPlainRows: rows with nothing of their own to say (a plan's new
// rows, whose empty columns Record writes as constants, the run's ID bound
// once a statement) are read back as recorded, over more than one
// statement, each under its own run; recorded again with an answer, they
// take it.
func TestRecordPlainRows(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t, filepath.Join(t.TempDir(), "crmsync.db"))
	first := beginRun(t, l)
	second, err := l.BeginRun(ctx, "plan", nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	runs := []int64{first, second}
	want := map[int64][]*crmsync.Result{}
	for n, id := range runs {
		var rs []*crmsync.Result
		for i := range rowsPerInsert + 3 {
			r := result(int64(i+1), event(crmsync.KindScore, fmt.Sprintf("T%d-%d", n, i), fmt.Sprintf(`{"t":%d}`, i)), crmsync.OutcomeNew, 0, 0)
			r.HasCode, r.Message, r.Values = false, "", []string{fmt.Sprintf("T%d-%d", n, i), "C1"}
			rs = append(rs, r)
		}
		if err := l.Record(ctx, id, rs); err != nil {
			t.Fatalf("Record(run %d) = %v", id, err)
		}
		want[id] = rs
	}
	var col, reason, msg string
	var attempts int
	var code sql.NullInt64
	var prev []byte
	if err := l.db.QueryRow(`SELECT col, reason, code, message, attempts, previous FROM results WHERE run_id = ? AND seq = 2`, runs[1]).Scan(&col, &reason, &code, &msg, &attempts, &prev); err != nil {
		t.Fatal(err)
	}
	if col != "" || reason != "" || code.Valid || msg != "" || attempts != 0 || prev != nil {
		t.Errorf("stored plain row: col %q reason %q code %v message %q attempts %d previous %q; want them empty, code and previous NULL", col, reason, code, msg, attempts, prev)
	}
	sent := *want[runs[0]][1]
	sent.Outcome, sent.HasCode, sent.Code, sent.Message, sent.Attempts = crmsync.OutcomeSent, true, 1, "ok", 1
	if err := l.Record(ctx, runs[0], []*crmsync.Result{&sent}); err != nil {
		t.Fatalf("Record(sent) = %v", err)
	}
	want[runs[0]][1] = &sent
	for _, id := range runs {
		var got []*crmsync.Result
		if err := l.Results(ctx, id, crmsync.KindScore, func(r *crmsync.Result) error { got = append(got, r); return nil }); err != nil {
			t.Fatalf("Results(run %d) = %v", id, err)
		}
		if diff := cmp.Diff(want[id], got); diff != "" {
			t.Errorf("Results(run %d) mismatch (-want +got):\n%s", id, diff)
		}
	}
}

// TestResultsNeedingPerson: ResultsNeedingPerson walks, in Seq order, the
// rows of one kind of a run whose outcome needs a person, as Results reads
// them, and no other (a narrow unchanged row of same neither).
func TestResultsNeedingPerson(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t, filepath.Join(t.TempDir(), "crmsync.db"))
	id := beginRun(t, l)
	var rs []*crmsync.Result
	for i, o := range append(slices.Clone(crmsync.Outcomes), crmsync.OutcomeInvalid, crmsync.OutcomeNew) {
		r := result(int64(i+1), event(crmsync.KindScore, fmt.Sprintf("T%d", i), fmt.Sprintf(`{"t":%d}`, i)), o, 0, 0)
		if o == crmsync.OutcomeUnchanged || o == crmsync.OutcomeNew || o == crmsync.OutcomeInvalid {
			r.HasCode, r.Message = false, "" // unchanged: kept narrow (same)
		}
		if o == crmsync.OutcomeInvalid {
			r.Key, r.Body, r.Hash, r.Column, r.Reason = "", nil, "", "TradeAmount", "not a number"
		}
		rs = append(rs, r)
	}
	other := result(int64(len(rs)+1), event(crmsync.KindBonus, "B1", `{"b":1}`), crmsync.OutcomeInvalid, 0, 0)
	if err := l.Record(ctx, id, append(rs, other)); err != nil {
		t.Fatalf("Record() = %v", err)
	}
	var narrow int
	if err := l.db.QueryRow("SELECT count(*) FROM same WHERE run_id = ?", id).Scan(&narrow); err != nil || narrow != 1 {
		t.Fatalf("narrow rows = %d (%v), want the unchanged one", narrow, err)
	}
	var want, got []*crmsync.Result
	if err := l.Results(ctx, id, crmsync.KindScore, func(r *crmsync.Result) error {
		if r.Outcome.NeedsPerson() {
			want = append(want, r)
		}
		return nil
	}); err != nil {
		t.Fatalf("Results() = %v", err)
	}
	if err := l.ResultsNeedingPerson(ctx, id, crmsync.KindScore, func(r *crmsync.Result) error {
		got = append(got, r)
		return nil
	}); err != nil {
		t.Fatalf("ResultsNeedingPerson() = %v", err)
	}
	if len(want) != 8 {
		t.Fatalf("Results found %d rows needing a person, want 8", len(want))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ResultsNeedingPerson mismatch (-Results' +got):\n%s", diff)
	}
}

// TestResultsKindRecordedLater checks that Results, which remembers the
// kinds of the run it walked (runHasKind), finds a kind recorded after.
func TestResultsKindRecordedLater(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t, filepath.Join(t.TempDir(), "crmsync.db"))
	id := beginRun(t, l)
	walk := func(k crmsync.Kind) []int64 {
		t.Helper()
		var seqs []int64
		if err := l.Results(ctx, id, k, func(r *crmsync.Result) error { seqs = append(seqs, r.Seq); return nil }); err != nil {
			t.Fatalf("Results(%s) = %v", k, err)
		}
		return seqs
	}
	score := event(crmsync.KindScore, "T1", `{"t":1}`)
	if err := l.Record(ctx, id, []*crmsync.Result{result(1, score, crmsync.OutcomeNew, 0, 0)}); err != nil {
		t.Fatalf("Record(score) = %v", err)
	}
	if got := walk(crmsync.KindScore); len(got) != 1 {
		t.Fatalf("Results(score) seqs = %v, want [1]", got)
	}
	if got := walk(crmsync.KindBonus); len(got) != 0 {
		t.Fatalf("Results(bonus) before = %v, want none", got)
	}
	bonus := event(crmsync.KindBonus, "B1", `{"b":1}`)
	if err := l.Record(ctx, id, []*crmsync.Result{result(2, bonus, crmsync.OutcomeNew, 0, 0)}); err != nil {
		t.Fatalf("Record(bonus) = %v", err)
	}
	if diff := cmp.Diff([]int64{2}, walk(crmsync.KindBonus)); diff != "" {
		t.Errorf("Results(bonus) after Record mismatch (-want +got):\n%s", diff)
	}
	// A narrow row (same) of a third kind.
	verify := event(crmsync.KindVerify, "V1", `{"v":1}`)
	unchanged := result(3, verify, crmsync.OutcomeUnchanged, 0, 0)
	unchanged.HasCode, unchanged.Message = false, ""
	if err := l.Record(ctx, id, []*crmsync.Result{unchanged}); err != nil {
		t.Fatalf("Record(verify) = %v", err)
	}
	var narrow int
	if err := l.db.QueryRow("SELECT count(*) FROM same WHERE run_id = ?", id).Scan(&narrow); err != nil || narrow != 1 {
		t.Fatalf("rows in same = %d, %v; want 1", narrow, err)
	}
	if diff := cmp.Diff([]int64{3}, walk(crmsync.KindVerify)); diff != "" {
		t.Errorf("Results(verify) after Record mismatch (-want +got):\n%s", diff)
	}
}

func TestBodyStoredOnce(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t, filepath.Join(t.TempDir(), "crmsync.db"))
	id := beginRun(t, l)
	ev := event(crmsync.KindScore, "T1", `{"t":1}`)
	if err := l.Claim(ctx, id, []*crmsync.Event{ev}); err != nil {
		t.Fatalf("Claim() = %v", err)
	}
	unchanged := result(2, ev, crmsync.OutcomeUnchanged, 0, 0)
	unchanged.HasCode = false
	if err := l.Record(ctx, id, []*crmsync.Result{result(1, ev, crmsync.OutcomeSent, 1, 1), unchanged}); err != nil {
		t.Fatalf("Record() = %v", err)
	}
	var bodies int
	if err := l.db.QueryRow("SELECT count(*) FROM bodies").Scan(&bodies); err != nil {
		t.Fatal(err)
	}
	if bodies != 1 {
		t.Errorf("bodies stored = %d, want 1 (claimed, sent and unchanged share it)", bodies)
	}
	var got [][]byte
	err := l.Results(ctx, id, crmsync.KindScore, func(r *crmsync.Result) error {
		got = append(got, r.Body)
		return nil
	})
	if err != nil {
		t.Fatalf("Results() = %v", err)
	}
	if diff := cmp.Diff([][]byte{ev.Body, ev.Body}, got); diff != "" {
		t.Errorf("Results() bodies mismatch (-want +got):\n%s", diff)
	}

	// The event moves on to a new body: the old results keep the old one.
	fixed := event(crmsync.KindScore, "T1", `{"t":2}`)
	if err := l.Record(ctx, id, []*crmsync.Result{result(3, fixed, crmsync.OutcomeSent, 1, 1)}); err != nil {
		t.Fatalf("Record() = %v", err)
	}
	got = nil
	err = l.Results(ctx, id, crmsync.KindScore, func(r *crmsync.Result) error {
		got = append(got, r.Body)
		return nil
	})
	if err != nil {
		t.Fatalf("Results() = %v", err)
	}
	if diff := cmp.Diff([][]byte{ev.Body, ev.Body, fixed.Body}, got); diff != "" {
		t.Errorf("Results() bodies after a new body mismatch (-want +got):\n%s", diff)
	}
}

func TestSummaryRoundTrip(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t, filepath.Join(t.TempDir(), "crmsync.db"))
	if _, err := l.LastRun(ctx); !errors.Is(err, ErrNoRun) {
		t.Errorf("LastRun() on an empty ledger = %v, want ErrNoRun", err)
	}
	id := beginRun(t, l)
	started := time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)
	s := crmsync.NewSummary(id, "run", started)
	s.Add(crmsync.KindScore, crmsync.OutcomeSent)
	s.Add(crmsync.KindScore, crmsync.OutcomeSent)
	s.Add(crmsync.KindGrade, crmsync.OutcomeInvalid)
	s.Report = "out/report.xlsx"
	s.Problems = "out/report-problems.xlsx"
	s.DurationS = 1.5
	s.Ended = started.Add(1500 * time.Millisecond)
	s.Requests = 3
	s.Files = []crmsync.FileSummary{
		{Path: "in/day.xlsx", Sheet: "score", Kind: crmsync.KindScore, Rows: 2},
		{Path: "in/broken.csv", Problem: crmsync.Say("没有表头", "no header row")},
	}
	if err := l.EndRun(ctx, s); err != nil {
		t.Fatalf("EndRun() = %v", err)
	}
	got, err := l.Summary(ctx, id)
	if err != nil {
		t.Fatalf("Summary(%d) = %v", id, err)
	}
	if diff := cmp.Diff(s, got); diff != "" {
		t.Errorf("Summary(%d) mismatch (-want +got):\n%s", id, diff)
	}
	if last, err := l.LastRun(ctx); err != nil || last != id {
		t.Errorf("LastRun() = %d, %v; want %d", last, err, id)
	}
	if _, err := l.Summary(ctx, id+1); !errors.Is(err, ErrNoRun) {
		t.Errorf("Summary(unknown run) = %v, want ErrNoRun", err)
	}
	var files int
	if err := l.db.QueryRow("SELECT count(*) FROM run_files WHERE run_id = ?", id).Scan(&files); err != nil || files != 2 {
		t.Errorf("run_files of run %d = %d, %v; want 2", id, files, err)
	}
}

func TestSummaryOfDeadRun(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t, filepath.Join(t.TempDir(), "crmsync.db"))
	id := beginRun(t, l)
	ev := event(crmsync.KindScore, "T1", `{}`)
	if err := l.Record(ctx, id, []*crmsync.Result{result(1, ev, crmsync.OutcomeSent, 1, 1)}); err != nil {
		t.Fatalf("Record() = %v", err)
	}
	got, err := l.Summary(ctx, id)
	if err != nil {
		t.Fatalf("Summary(%d) = %v", id, err)
	}
	if got.Rows != 1 || got.Counts[crmsync.OutcomeSent] != 1 || got.ByKind[crmsync.KindScore][crmsync.OutcomeSent] != 1 || got.Command != "run" {
		t.Errorf("Summary(unended run) = %+v, want run with 1 sent score row", got)
	}
}

func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crmsync.db")
	l1 := openLedger(t, path)
	l2 := openLedger(t, path)
	unlock, err := l1.Lock("run")
	if err != nil {
		t.Fatalf("Lock() = %v", err)
	}
	_, err = l2.Lock("retry")
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second Lock() = %v, want *LockedError", err)
	}
	host, _ := os.Hostname()
	if le.PID != os.Getpid() || le.Host != host || le.Command != "run" || le.Since.IsZero() {
		t.Errorf("LockedError = %+v, want pid %d host %q command run", le, os.Getpid(), host)
	}
	if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("in use by pid %d on host %s (crmsync run, since ", os.Getpid(), host)) ||
		!strings.HasSuffix(msg, "wait for it or stop it") {
		t.Errorf("LockedError.Error() = %q, want it to name pid, host and command", msg)
	}
	st, err := l2.Status(context.Background(), 1)
	if err != nil {
		t.Fatalf("Status() = %v", err)
	}
	if len(st.Runs) != 0 {
		t.Errorf("Status().Runs = %+v, want none", st.Runs)
	}
	if err := unlock(); err != nil {
		t.Fatalf("unlock() = %v", err)
	}
	if err := unlock(); err != nil {
		t.Errorf("second unlock() = %v, want nil", err)
	}
	unlock2, err := l2.Lock("retry")
	if err != nil {
		t.Fatalf("Lock() after unlock = %v", err)
	}
	defer unlock2()
	if _, err := l1.Lock("run"); !errors.As(err, &le) || le.Command != "retry" {
		t.Errorf("Lock() while the other holds it = %v, want *LockedError naming retry", err)
	}
}

func TestLockLeftByDeadProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crmsync.db")
	stale := `{"pid":999999,"host":"gone","command":"run","started":"2026-11-24T01:00:00Z"}`
	if err := os.WriteFile(path+".lock", []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	l := openLedger(t, path)
	unlock, err := l.Lock("run")
	if err != nil {
		t.Fatalf("Lock() over a stale lock file = %v, want nil", err)
	}
	b, err := os.ReadFile(path + ".lock")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), fmt.Sprintf(`"pid":%d`, os.Getpid())) {
		t.Errorf("lock file = %s, want it to name pid %d", b, os.Getpid())
	}
	unlock()
	if b, _ := os.ReadFile(path + ".lock"); len(b) != 0 {
		t.Errorf("lock file after unlock = %q, want empty", b)
	}
}

func TestStatus(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crmsync.db")
	l := openLedger(t, path)
	first, unlock := lockAndBegin(t, l)
	a := event(crmsync.KindScore, "T1", `{"a":1}`)
	b := event(crmsync.KindScoreV2, "T2", `{"b":1}`)
	c := event(crmsync.KindGrade, "G1", `{"c":1}`)
	d := event(crmsync.KindGrade, "G2", `{"d":1}`)
	if err := l.Claim(ctx, first, []*crmsync.Event{a, b, c, d}); err != nil {
		t.Fatalf("Claim() = %v", err)
	}
	rs := []*crmsync.Result{
		result(1, a, crmsync.OutcomeSent, 1, 1),
		result(2, b, crmsync.OutcomeSent, 1, 1),
		result(3, c, crmsync.OutcomeFailed, 0, 3),
	}
	if err := l.Record(ctx, first, rs); err != nil {
		t.Fatalf("Record() = %v", err)
	}
	// first dies with d in flight; second begins and ends.
	second, err := l.BeginRun(ctx, "retry", nil, time.Now())
	if err != nil {
		t.Fatalf("BeginRun() = %v", err)
	}
	s := crmsync.NewSummary(second, "retry", time.Now())
	s.Add(crmsync.KindGrade, crmsync.OutcomeFailed)
	if err := l.EndRun(ctx, s); err != nil {
		t.Fatalf("EndRun() = %v", err)
	}
	third, err := l.BeginRun(ctx, "run", nil, time.Now())
	if err != nil {
		t.Fatalf("BeginRun() = %v", err)
	}

	st, err := l.Status(ctx, 10)
	if err != nil {
		t.Fatalf("Status() = %v", err)
	}
	wantTotals := map[crmsync.Kind]map[crmsync.State]int{
		crmsync.KindScore:   {crmsync.StateSent: 1},
		crmsync.KindScoreV2: {crmsync.StateSent: 1},
		crmsync.KindGrade:   {crmsync.StateFailed: 1, crmsync.StateUncertain: 1},
	}
	if diff := cmp.Diff(wantTotals, st.Totals); diff != "" {
		t.Errorf("Status().Totals mismatch (-want +got):\n%s", diff)
	}
	if st.Held != 1 || st.Failed != 1 || st.Path != path {
		t.Errorf("Status() Held, Failed, Path = %d, %d, %q; want 1, 1, %q", st.Held, st.Failed, st.Path, path)
	}
	type run struct {
		ID      int64
		Command string
		Status  string
		Rows    int
		Counts  map[crmsync.Outcome]int
	}
	var gotRuns []run
	for _, r := range st.Runs {
		gotRuns = append(gotRuns, run{r.ID, r.Command, r.Status, r.Rows, r.Counts})
	}
	wantRuns := []run{
		{third, "run", RunRunning, 0, map[crmsync.Outcome]int{}},
		{second, "retry", RunDone, 1, map[crmsync.Outcome]int{crmsync.OutcomeFailed: 1}},
		{first, "run", RunDied, 3, map[crmsync.Outcome]int{crmsync.OutcomeSent: 2, crmsync.OutcomeFailed: 1}},
	}
	if diff := cmp.Diff(wantRuns, gotRuns); diff != "" {
		t.Errorf("Status().Runs mismatch (-want +got):\n%s", diff)
	}
	if st.Runs[1].Ended.IsZero() || !st.Runs[0].Ended.IsZero() {
		t.Errorf("Status().Runs Ended = %v, %v; want zero for the running run only", st.Runs[0].Ended, st.Runs[1].Ended)
	}

	// Seen from another process while the lock is held, the run is running;
	// once the lock is gone, it died.
	other := openLedger(t, path)
	if st, err := other.Status(ctx, 1); err != nil || st.Runs[0].Status != RunRunning {
		t.Errorf("Status() from another Open while locked = %+v, %v; want the latest run running", st, err)
	}
	unlock()
	if st, err := other.Status(ctx, 1); err != nil || st.Runs[0].Status != RunDied {
		t.Errorf("Status() from another Open after unlock = %+v, %v; want the latest run died", st, err)
	}
}

// TestConcurrentUse claims, records, looks up and reads status from several
// goroutines at once, as the job's claimer, recorder and differ do; -race
// checks the rest.
func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t, filepath.Join(t.TempDir(), "crmsync.db"))
	id := beginRun(t, l)
	const workers, per = 4, 50
	errs := make(chan error, workers*2)
	for w := range workers {
		go func() {
			for i := range per {
				ev := event(crmsync.KindScore, fmt.Sprintf("W%d-%d", w, i), fmt.Sprintf(`{"w":%d,"i":%d}`, w, i))
				if err := l.Claim(ctx, id, []*crmsync.Event{ev}); err != nil {
					errs <- err
					return
				}
				if err := l.Record(ctx, id, []*crmsync.Result{result(int64(w*per+i+1), ev, crmsync.OutcomeSent, 1, 1)}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
		go func() {
			for i := range per {
				ev := event(crmsync.KindScore, fmt.Sprintf("W%d-%d", w, i), `{}`)
				if _, err := l.Lookup(ctx, []*crmsync.Event{ev}); err != nil {
					errs <- err
					return
				}
				if _, err := l.Status(ctx, 1); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers * 2 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent use: %v", err)
		}
	}
	st, err := l.Status(ctx, 1)
	if err != nil {
		t.Fatalf("Status() = %v", err)
	}
	if got := st.Totals[crmsync.KindScore][crmsync.StateSent]; got != workers*per {
		t.Errorf("sent score events = %d, want %d", got, workers*per)
	}
}

// TestCacheByRole: the writer connection keeps a 4 MiB page cache, the
// connections that read 1 MiB each, however many of them are open: the
// readers' caches had filled to 4 MiB each as a 10 GB ledger was read.
func TestCacheByRole(t *testing.T) {
	ctx := context.Background()
	l, err := Open(ctx, filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var w int
	if err := l.w.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&w); err != nil {
		t.Fatal(err)
	}
	if w != -4096 {
		t.Errorf("PRAGMA cache_size on the writer = %d, want -4096", w)
	}
	// Three readers at once, each its own connection.
	var conns []*sql.Conn
	for i := 0; i < 3; i++ {
		c, err := l.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for i, c := range conns {
		var r int
		if err := c.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&r); err != nil {
			t.Fatal(err)
		}
		if r != -1024 {
			t.Errorf("PRAGMA cache_size on reader %d = %d, want -1024", i, r)
		}
	}
}
