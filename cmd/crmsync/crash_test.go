package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// TestMain removes the binary buildBinary built (29 MB a test run, left in
// the temporary directory otherwise).
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// buildBinary builds crmsync once for the tests that need a real process.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "crmsync-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "crmsync")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// processEnv is the environment of a crmsync process sending to srv with
// the sandbox credentials.
func processEnv(srv *mallcootest.Server) []string {
	env := os.Environ()
	for k, v := range sandboxEnv(srv) {
		env = append(env, k+"="+v)
	}
	return env
}

// writeCrashInput writes members × 4 score events (3 sales and a return of
// the first) and gradeMembers × 3 successive grade changes.
func writeCrashInput(t *testing.T, dir string, members, gradeMembers int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,ReturnTime,ReturnAmount,Score\n")
	for m := 0; m < members; m++ {
		card := fmt.Sprintf("0%012d", 201710000000+m)
		for s := 0; s < 3; s++ {
			fmt.Fprintf(&b, "T%06d%d,%s,1,2024-11-01 %02d:%02d:00,%d.%02d,S%03d,,,%d\n", m, s, card, 9+s*3, m%60, 100+m, s*7, m%50, 100+m)
		}
		fmt.Fprintf(&b, "R%06d0,%s,2101,2024-11-01 09:%02d:00,%d.00,S%03d,2024-11-01 20:%02d:00,%d.00,-%d\n", m, card, m%60, 100+m, m%50, m%60, 100+m, 100+m)
	}
	if err := os.WriteFile(filepath.Join(dir, "score.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	b.WriteString("ThirdPartyCardID,BeforeCardCode,AfterCardCode,ChangeType,ChangeTime,GradeChangeID\n")
	grades := []string{"普卡", "银卡", "金卡", "铂金卡"}
	for m := 0; m < gradeMembers; m++ {
		card := fmt.Sprintf("9%012d", m)
		for g := 0; g < 3; g++ {
			fmt.Fprintf(&b, "%s,%s,%s,0,2024-11-01 %02d:%02d:%02d,G%06d%d\n", card, grades[g], grades[g+1], 10+g*2, m%60, g, m, g)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "grade.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCrashRecovery starts the real binary against the fake Mallcoo (with
// injected 5xx and dropped connections), kills it with SIGKILL at random
// moments, then runs it to completion, and checks that no event was lost,
// no grade change was applied twice, and every undelivered event is flagged.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	const members, gradeMembers, kills = 300, 120, 6
	bin := buildBinary(t)
	srv := mallcootest.NewServer(mallcootest.Options{Latency: 4 * time.Millisecond, FailRate: 0.03, DropRate: 0.02, Seed: 7})
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.MkdirAll(in, 0o755)
	writeCrashInput(t, in, members, gradeMembers)
	conf := filepath.Join(dir, "crmsync.toml")
	// The fake answers a repeated TransID with 1001: for score kinds that
	// means "already delivered", and uncertain score events may be resent,
	// as a mall would configure it once its Mallcoo contact confirmed it.
	os.WriteFile(conf, []byte("already_delivered_codes = [1001]\nscore_resend_uncertain = true\nretries = 3\nconcurrency = 8\n"), 0o644)
	db := filepath.Join(dir, "ledger.db")
	mustCreateLedger(t, db)
	environ := processEnv(srv)
	runBin := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Env = environ
		cmd.Dir = dir
		return cmd
	}

	rng := rand.New(rand.NewSource(42))
	killed := 0
	for i := 0; i < kills; i++ {
		cmd := runBin("run", "-config", conf, "-ledger", db, "-report", filepath.Join(dir, fmt.Sprintf("kill-%d.xlsx", i)), in)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(30+rng.Intn(1500)) * time.Millisecond)
		if cmd.Process.Signal(syscall.SIGKILL) == nil {
			killed++
		}
		cmd.Wait()
	}

	// Run to completion: until a run has nothing left failed.
	var last jsonSummary
	for i := 0; i < 6; i++ {
		cmd := runBin("run", "-json", "-config", conf, "-ledger", db, "-report", filepath.Join(dir, fmt.Sprintf("final-%d.xlsx", i)), in)
		out, err := cmd.Output()
		if code := cmd.ProcessState.ExitCode(); code != crmsync.ExitOK && code != crmsync.ExitNeedsPerson {
			t.Fatalf("final run %d: exit %d (%v)", i, code, err)
		}
		last = decodeSummary(t, string(out))
		if last.Counts[crmsync.OutcomeFailed] == 0 {
			break
		}
	}

	// What Mallcoo accepted, by key.
	delivered := map[string]int{}
	for _, r := range srv.Requests() {
		if r.Code != 1 {
			continue
		}
		var m map[string]any
		json.Unmarshal(r.Body, &m)
		switch r.Kind {
		case crmsync.KindScore:
			delivered["score "+m["TransID"].(string)]++
		case crmsync.KindGrade:
			delivered["grade "+m["GradeChangeID"].(string)]++
		}
	}

	// What the ledger knows of every input event, read with the real reader.
	l, err := ledger.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var evs []*crmsync.Event
	r := &importer.Reader{}
	for _, f := range []string{"score.csv", "grade.csv"} {
		if _, err := r.ReadFile(context.Background(), filepath.Join(in, f), func(row *crmsync.Row) error {
			if row.Event == nil {
				t.Fatalf("%s: invalid test row: %v", row.Source, row.Problem)
			}
			evs = append(evs, row.Event)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	priors, err := l.Lookup(context.Background(), evs)
	if err != nil {
		t.Fatal(err)
	}
	lastOutcome := map[string]crmsync.Outcome{}
	for _, k := range []crmsync.Kind{crmsync.KindScore, crmsync.KindGrade} {
		l.Results(context.Background(), last.RunID, k, func(res *crmsync.Result) error {
			lastOutcome[string(k)+" "+res.Key] = res.Outcome
			return nil
		})
	}

	var scores, grades, gradeHeld, lost, twice int
	for i, ev := range evs {
		key := string(ev.Kind) + " " + ev.Key
		n := delivered[key]
		p := priors[i]
		if n > 1 {
			twice++
			t.Errorf("%s delivered %d times", key, n)
		}
		switch ev.Kind {
		case crmsync.KindScore:
			scores++
			// Safe to resend: every sale and return must have arrived.
			if n != 1 || p.State != crmsync.StateSent {
				lost++
				t.Errorf("score %s: delivered %d times, ledger state %q; want 1 and sent", ev.Key, n, p.State)
			}
		case crmsync.KindGrade:
			grades++
			if p.State == crmsync.StateSent && n != 1 {
				lost++
				t.Errorf("grade %s: ledger says sent, Mallcoo got it %d times", ev.Key, n)
			}
			if p.State != crmsync.StateSent {
				o := lastOutcome[key]
				flagged := p.State == crmsync.StateUncertain || p.State == crmsync.StateFailed || o == crmsync.OutcomeBlocked || o == crmsync.OutcomeUncertain
				if !flagged {
					lost++
					t.Errorf("grade %s: not sent (state %q, last outcome %q) and not flagged", ev.Key, p.State, o)
				}
				gradeHeld++
			}
		}
	}
	t.Logf("crash test: %d SIGKILLs; %d score events, %d grade changes; %d requests in all; grade changes held for a person: %d; lost: %d; applied twice: %d; final run counts %v",
		killed, scores, grades, len(srv.Requests()), gradeHeld, lost, twice, last.Counts)
	if scores < 1000 || grades < 300 {
		t.Fatalf("crash test too small: %d score, %d grade", scores, grades)
	}
}

// TestInterrupt sends SIGINT to a run in the middle of sending: no new sends,
// requests in flight finish, the report is written, exit 130; the next run
// sends the rest and nothing twice.
func TestInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and signals the real binary")
	}
	bin := buildBinary(t)
	srv := mallcootest.NewServer(mallcootest.Options{Latency: 20 * time.Millisecond})
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.MkdirAll(in, 0o755)
	writeCrashInput(t, in, 100, 30)
	db := filepath.Join(dir, "ledger.db")
	mustCreateLedger(t, db)
	environ := processEnv(srv)
	rep := filepath.Join(dir, "interrupted.xlsx")
	cmd := exec.Command(bin, "run", "-json", "-concurrency", "4", "-ledger", db, "-report", rep, in)
	cmd.Env = environ
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until sending is under way, then interrupt.
	for deadline := time.Now().Add(10 * time.Second); len(srv.Requests()) < 20 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != crmsync.ExitInterrupted {
		t.Fatalf("interrupted run: exit %d, want %d", code, crmsync.ExitInterrupted)
	}
	s := decodeSummary(t, stdout.String())
	sentBefore := len(srv.Requests())
	if s.Counts[crmsync.OutcomeSent] == 0 || s.Counts[crmsync.OutcomeSent] != sentBefore {
		t.Errorf("interrupted run: %d sent, server got %d requests; want equal and > 0", s.Counts[crmsync.OutcomeSent], sentBefore)
	}
	if s.Counts[crmsync.OutcomeSent] >= 490 {
		t.Errorf("interrupted run sent everything (%d): the interrupt did not stop sending", s.Counts[crmsync.OutcomeSent])
	}
	if _, err := os.Stat(rep); err != nil {
		t.Errorf("interrupted run wrote no report: %v", err)
	}

	cmd = exec.Command(bin, "run", "-json", "-ledger", db, "-report", filepath.Join(dir, "rest.xlsx"), in)
	cmd.Env = environ
	out, _ := cmd.Output()
	if code := cmd.ProcessState.ExitCode(); code != crmsync.ExitOK {
		t.Fatalf("run after interrupt: exit %d, want 0\n%s", code, out)
	}
	rest := decodeSummary(t, string(out))
	if rest.Counts[crmsync.OutcomeUnchanged] != s.Counts[crmsync.OutcomeSent] || rest.Counts[crmsync.OutcomeSent]+sentBefore != 490 {
		t.Errorf("run after interrupt: %v; want the %d sent before unchanged and the rest (%d) sent", rest.Counts, sentBefore, 490-sentBefore)
	}
	if n := len(srv.Requests()); n != 490 {
		t.Errorf("server got %d requests over both runs, want 490 (each event once)", n)
	}
}

// TestSecondRunRefused: a run on a ledger another process holds exits 1 at
// once and names the holder.
func TestSecondRunRefused(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "ledger.db")
	l, err := ledger.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	unlock, err := l.Lock("crmsync run (test)")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	code, _, stderr := cli(t, nil, "plan", "-ledger", db, "-report", filepath.Join(dir, "r.xlsx"), samplesDir(t))
	if code != crmsync.ExitFailed {
		t.Errorf("plan on a locked ledger: exit %d, want %d", code, crmsync.ExitFailed)
	}
	if !strings.Contains(stderr, fmt.Sprint(os.Getpid())) {
		t.Errorf("plan on a locked ledger: message does not name the holder's pid %d:\n%s", os.Getpid(), stderr)
	}
}

// TestSecondInterrupt: a second Ctrl-C quits at once (exit 130) without
// waiting for requests in flight; no claim is lost: the next run completes
// with every score event delivered once, and grade changes that were in
// flight held as uncertain, never sent twice.
func TestSecondInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and signals the real binary")
	}
	bin := buildBinary(t)
	srv := mallcootest.NewServer(mallcootest.Options{Latency: 100 * time.Millisecond})
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.MkdirAll(in, 0o755)
	writeCrashInput(t, in, 40, 20)
	db := filepath.Join(dir, "ledger.db")
	mustCreateLedger(t, db)
	conf := filepath.Join(dir, "crmsync.toml")
	os.WriteFile(conf, []byte("already_delivered_codes = [1001]\n"), 0o644)
	environ := processEnv(srv)
	cmd := exec.Command(bin, "run", "-config", conf, "-concurrency", "8", "-ledger", db, "-report", filepath.Join(dir, "r.xlsx"), in)
	cmd.Env = environ
	// The second Ctrl-C goes once crmsync said it took the first: two
	// SIGINTs sent 20 ms apart to a process the load has not scheduled yet
	// are merged by the kernel into one (it does not queue a pending
	// signal twice), which is no second Ctrl-C at all.
	first := &watchWriter{want: "crmsync: interrupted", seen: make(chan struct{})}
	cmd.Stderr = first
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); len(srv.Requests()) < 8 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	// Requests from now on take 5 s: a first Ctrl-C alone would wait for
	// them, then write the report. A second one must not wait. (2 s was
	// too short under a load of 12 on two cores: the two signals, 20 ms
	// apart, reached the process more than the hold apart.)
	srv.SetLatency(5 * time.Second)
	// The first Ctrl-C comes once a request held 5 s is out (under load the
	// client may start none for a while; a Ctrl-C then has nothing to wait
	// for and writes the report before the second one arrives).
	held := len(srv.Requests()) + 1
	for deadline := time.Now().Add(10 * time.Second); len(srv.Requests()) < held && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	cmd.Process.Signal(os.Interrupt)
	select {
	case <-first.seen:
	case <-time.After(10 * time.Second):
		t.Fatalf("first Ctrl-C: crmsync did not say it was interrupted within 10 s; stderr:\n%s", first)
	}
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != crmsync.ExitInterrupted {
		t.Fatalf("second Ctrl-C: exit %d, want %d", code, crmsync.ExitInterrupted)
	}
	if _, err := os.Stat(filepath.Join(dir, "r.xlsx")); err == nil {
		t.Errorf("second Ctrl-C: the report was written, so crmsync waited for the requests in flight instead of quitting at once")
	}

	srv.SetLatency(0)
	time.Sleep(5500 * time.Millisecond) // let requests the dead process left finish on the server
	cmd = exec.Command(bin, "run", "-json", "-config", conf, "-concurrency", "8", "-ledger", db, "-report", filepath.Join(dir, "rest.xlsx"), in)
	cmd.Env = environ
	out, _ := cmd.Output()
	s := decodeSummary(t, string(out))
	delivered := map[string]int{} // score TransID → times Mallcoo accepted it
	for _, r := range srv.Requests() {
		if r.Code == 1 && r.Kind == crmsync.KindScore {
			var m map[string]any
			json.Unmarshal(r.Body, &m)
			delivered[m["TransID"].(string)]++
		}
	}
	// Every score event arrived once or, claimed when the process quit,
	// is held as uncertain (score events are not resent without
	// score_resend_uncertain): in flight then (Mallcoo got it; the ledger
	// cannot know), or claimed and its request never out. At most twice
	// -concurrency of those, as the README says. None lost, none twice.
	var scores []*crmsync.Event
	if _, err := (&importer.Reader{}).ReadFile(context.Background(), filepath.Join(in, "score.csv"), func(row *crmsync.Row) error {
		scores = append(scores, row.Event)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	priors, err := l.Lookup(context.Background(), scores)
	if err != nil {
		t.Fatal(err)
	}
	uncertain := 0
	for i, ev := range scores {
		switch n, state := delivered[ev.Key], priors[i].State; {
		case n > 1:
			t.Errorf("score %s delivered %d times", ev.Key, n)
		case state == crmsync.StateUncertain:
			uncertain++
		case n == 1 && state != crmsync.StateSent:
			t.Errorf("score %s delivered, ledger state %q: want sent or uncertain", ev.Key, state)
		case n == 0:
			t.Errorf("score %s never delivered, ledger state %q: lost (want it held as uncertain)", ev.Key, state)
		}
	}
	if len(scores) != 160 || uncertain > 16 {
		t.Errorf("%d score events, %d held as uncertain: want 160, at most 16 (twice -concurrency 8); final counts %v", len(scores), uncertain, s.Counts)
	}
}

// watchWriter keeps what a process writes and closes seen the first time
// it holds want.
type watchWriter struct {
	mu   sync.Mutex
	text strings.Builder
	want string
	seen chan struct{}
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	had := strings.Contains(w.text.String(), w.want)
	w.text.Write(p)
	if !had && strings.Contains(w.text.String(), w.want) {
		close(w.seen)
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.text.String()
}

// mustCreateLedger creates a ledger at db, as crmsync init does: every
// command but init (and -sandbox) refuses a missing one.
func mustCreateLedger(t *testing.T, db string) {
	t.Helper()
	l, err := ledger.Create(context.Background(), db, ledger.Options{})
	if err != nil {
		t.Fatalf("create ledger %s: %v", db, err)
	}
	l.Close()
}
