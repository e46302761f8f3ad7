package pipeline_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/pipeline"
)

// heard is a destination that keeps what it was told.
type heard struct {
	mu     sync.Mutex
	got    []crmsync.Notice
	wants  func(code int) bool
	refuse bool
}

func (h *heard) Name() string { return "stand-in" }

func (h *heard) Wants(code int) bool { return h.wants == nil || h.wants(code) }

func (h *heard) Send(ctx context.Context, n crmsync.Notice) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got = append(h.got, n)
	if h.refuse {
		return errors.New("robot down")
	}
	if _, ok := ctx.Deadline(); !ok {
		return errors.New("delivery without a deadline")
	}
	return nil
}

func (h *heard) notices() []crmsync.Notice {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]crmsync.Notice(nil), h.got...)
}

// TestRunNotifies: pipeline.Run tells its notifiers how the run ended, with
// the exit code ExitCode gives (the one the process exits with), the run's
// ID, mall and causes; a destination that does not want that exit code
// hears nothing, one that is down changes nothing. A run that never began
// still notifies, with its command and exit code 1.
func TestRunNotifies(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "l.db")
	l, err := ledger.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	in := filepath.Join(dir, "member.csv")
	os.WriteFile(in, []byte("ThirdPartyCardID,Mobile\r\n0201710000001,13800000000\r\n0201710000002,123\r\n"), 0o644)

	all, down := &heard{}, &heard{refuse: true}
	onlyOK := &heard{wants: func(code int) bool { return code == crmsync.ExitOK }}
	opt := pipeline.Options{
		Command: "plan", Ledger: db, LedgerOptions: ledger.Options{MustExist: true}, Mall: "万象城",
		Job: &pipeline.Job{Reader: &importer.Reader{}}, Files: []string{in}, Paths: []string{in},
		Report: filepath.Join(dir, "r.xlsx"), NoticeLang: "en",
		Notifiers: []pipeline.Notifier{down, onlyOK, all},
	}
	s, err := pipeline.Run(ctx, opt)
	if err != nil || s == nil {
		t.Fatalf("plan: %v", err)
	}
	code := pipeline.ExitCode(s, err)
	if code != crmsync.ExitNeedsPerson {
		t.Fatalf("exit code %d, want %d (an invalid mobile)", code, crmsync.ExitNeedsPerson)
	}
	got := all.notices()
	if len(got) != 1 {
		t.Fatalf("got %d notices, want 1", len(got))
	}
	n := got[0]
	if n.Command != "plan" || n.ExitCode != code || n.RunID != s.RunID || n.Mall != "万象城" || n.Lang != "en" {
		t.Errorf("notice %+v, want plan, exit %d, run %d, 万象城, en", n, code, s.RunID)
	}
	if n.Counts[crmsync.OutcomeInvalid] != 1 || len(n.Causes) == 0 || n.Report != s.Report {
		t.Errorf("notice counts %v, causes %v, report %q; want 1 invalid with its cause and %q", n.Counts, n.Causes, n.Report, s.Report)
	}
	if len(down.notices()) != 1 {
		t.Errorf("the destination that is down was tried %d times, want 1", len(down.notices()))
	}
	if len(onlyOK.notices()) != 0 {
		t.Errorf("a destination that wants only exit 0 heard of an exit %d", code)
	}

	// The run never began: the ledger is missing.
	opt.Ledger = filepath.Join(dir, "missing.db")
	s, err = pipeline.Run(ctx, opt)
	if s != nil || err == nil {
		t.Fatalf("run on a missing ledger: %v, %v; want no summary and an error", s, err)
	}
	got = all.notices()
	if len(got) != 2 {
		t.Fatalf("got %d notices, want 2", len(got))
	}
	n = got[1]
	if n.Command != "plan" || n.ExitCode != crmsync.ExitFailed || n.RunID != 0 || len(n.Causes) == 0 || !strings.Contains(n.Causes[0].Text, "failed") {
		t.Errorf("notice of a run that never began: %+v", n)
	}
}

// TestExitCode: the exit code of each way a run can end.
func TestExitCode(t *testing.T) {
	needs := crmsync.NewSummary(1, "run", time.Now())
	needs.Counts[crmsync.OutcomeInvalid] = 1
	interrupted := crmsync.NewSummary(2, "run", time.Now())
	interrupted.Interrupt = true
	fine := crmsync.NewSummary(3, "run", time.Now())
	boom := errors.New("boom")
	for _, c := range []struct {
		name string
		s    *crmsync.Summary
		err  error
		want int
	}{
		{"all well", fine, nil, crmsync.ExitOK},
		{"rows need a person", needs, nil, crmsync.ExitNeedsPerson},
		{"run failed", needs, boom, crmsync.ExitFailed},
		{"report failed", fine, &pipeline.ReportError{Err: boom}, crmsync.ExitFailed},
		{"interrupted", interrupted, context.Canceled, crmsync.ExitInterrupted},
		{"never began", nil, boom, crmsync.ExitFailed},
		{"nothing to send, backlog empty", nil, &pipeline.NothingToSend{Outstanding: &ledger.Outstanding{}}, crmsync.ExitOK},
		{"nothing to send, backlog held", nil, &pipeline.NothingToSend{Outstanding: &ledger.Outstanding{Total: 2}}, crmsync.ExitNeedsPerson},
	} {
		if got := pipeline.ExitCode(c.s, c.err); got != c.want {
			t.Errorf("%s: exit code %d, want %d", c.name, got, c.want)
		}
	}
}
