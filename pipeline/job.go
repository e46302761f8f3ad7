// Package pipeline drives every crmsync run from start to end: Run for
// run, plan and retry (open the ledger, lock, begin the run, the job, the
// report, end the run: run.go) and Reconcile (reconcile.go). A Job reads
// (package importer) → validates → diffs against the ledger (diff.go, by
// crmsync.Diff) → claims → sends (package mallcoo), lanes in parallel on an
// errgroup, each lane in order (send.go) → records (commit.go: the group
// commits of claims and results). It parses no flags and prints nothing.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/report"
)

// Job drives one run over input files: read → validate → diff against the
// ledger → claim → send → record. Rows that fail a stage become outcomes;
// only run-level trouble (ledger unusable, API unusable, cancelled) is
// returned as an error.
type Job struct {
	Reader *importer.Reader
	Ledger crmsync.Ledger
	// Sender delivers events; nil makes the job a plan: nothing is claimed
	// or sent, and rows that would be sent end as new.
	Sender      crmsync.Sender
	Concurrency int // requests out at once while sending (lanes in parallel), default 4
	// Since and Until limit events by event time (Until exclusive); zero
	// means no limit. Events outside are skipped.
	Since, Until time.Time
	Batch        int // rows per ledger round trip, default 1000
	Logger       *slog.Logger
	// Progress, when set, is called from time to time with the stage
	// ("read", "send") and the counts so far; total is 0 when unknown.
	Progress func(stage string, done, total int)
	// Rows, when known, is about how many rows the files hold (see
	// CountRows); the read stage's progress shows it as the total.
	Rows int
	// MaxRows, when positive, caps the rows read in the run, over all
	// files: the row after the cap ends the run with a *RowLimitError
	// before anything is sent (a runaway export, a zip bomb).
	MaxRows int
	// ResendUncertainScores says the mall's Mallcoo refuses or ignores a
	// repeated TransID (setting score_resend_uncertain): score events whose
	// delivery is uncertain are then sent again without a person, and
	// claimed in batches. Otherwise they are held like grade changes.
	ResendUncertainScores bool
	// Live, when set, is given every row Run records, once recorded, for
	// the report (report.Live): a plan's rows, and a run's while it has
	// nothing to send. Rows to send change their outcome as they go, so a
	// run that queues one drops it (the report reads the ledger instead).
	Live *report.Live
}

// RowLimitError ends a run whose files hold more than Job.MaxRows rows; At
// is the first row over the cap. Nothing was sent.
type RowLimitError struct {
	Limit int
	At    crmsync.SourceRef
}

func (e *RowLimitError) Error() string {
	return fmt.Sprintf("the files hold more than %d rows (max_rows_per_run), the first over it at %s; nothing was sent: split the files over several runs, or raise max_rows_per_run", e.Limit, e.At)
}

// safe reports whether events of kind k may be resent without a person.
func (j *Job) safe(k crmsync.Kind) bool { return k.SafeToResendWith(j.ResendUncertainScores) }

// errStopped says sending stopped early; Summary.Stopped says why.
var errStopped = errors.New("sending stopped")

// Run processes files (already expanded) into summary s, recording every
// row's result in the ledger under runID. It returns an error only for
// run-level trouble; a context cancellation is returned as ctx.Err() after
// what was done is recorded.
func (j *Job) Run(ctx context.Context, runID int64, files []string, s *crmsync.Summary) error {
	if j.Batch <= 0 {
		j.Batch = 1000
	}
	if j.Concurrency <= 0 {
		j.Concurrency = 4
	}
	if j.Logger == nil {
		j.Logger = slog.New(slog.DiscardHandler)
	}
	d := &differ{ctx: ctx, job: j, runID: runID, summary: s, seen: newKeySet(j.tempDir(), j.keyCapacity()), sheets: map[crmsync.SourceRef]uint64{}, hash: fnv.New128a()}
	defer d.seen.close()
	for _, path := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		sums, err := j.Reader.ReadFile(ctx, path, d.add)
		if err != nil {
			return err
		}
		if err := d.flush(ctx); err != nil {
			return err
		}
		for _, f := range sums {
			s.Files = append(s.Files, f)
			if f.Problem != "" {
				j.Logger.Warn("file not read", "file", f.Path, "sheet", f.Sheet, "problem", f.Problem)
			}
		}
	}
	if err := d.flush(ctx); err != nil {
		return err
	}
	if bl, ok := j.Ledger.(BacklogLedger); ok && j.Sender != nil {
		if err := d.backlog(ctx, bl); err != nil {
			return err
		}
	}
	d.seen.close() // the keys' memory and files are not needed to send
	if j.Sender == nil || d.queued == 0 {
		return nil
	}
	return j.send(ctx, runID, d.queued, d.invalid, s)
}

// backlog queues the ledger's blocked events whose blocker has cleared, or
// goes in this run, and that this run's files do not hold: a blocked event
// goes by the next run, whatever files it reads. They are results of the
// run from the source "ledger".
func (d *differ) backlog(ctx context.Context, l BacklogLedger) error {
	inInput := func(k crmsync.Kind, key string) bool {
		_, ok := d.seen.get(keyID(d.hash, &crmsync.Event{Kind: k, Key: key}))
		return ok
	}
	evs, _, err := Sendable(ctx, l, []crmsync.State{crmsync.StateBlocked}, inInput)
	if err == nil {
		err = d.seen.err
	}
	if err != nil {
		return fmt.Errorf("read the backlog: %w", err)
	}
	var rs []*crmsync.Result
	for _, ev := range evs {
		if inInput(ev.Kind, ev.Key) {
			continue // its row in the files decides
		}
		d.seq++
		rs = append(rs, &crmsync.Result{
			Seq: d.seq, Kind: ev.Kind, Key: ev.Key, Lane: ev.Lane, Time: ev.Time,
			Body: ev.Body, Hash: ev.Hash, Outcome: crmsync.OutcomeNew,
			Source: crmsync.SourceRef{File: "ledger"},
		})
		d.summary.Add(ev.Kind, crmsync.OutcomeNew)
		d.queued++
	}
	if d.seen.err != nil {
		return fmt.Errorf("read the backlog: %w", d.seen.err)
	}
	if len(rs) > 0 {
		d.job.Live.Drop() // they are sent next
	}
	for i := 0; i < len(rs); i += 1000 {
		if err := d.job.Ledger.Record(ctx, d.runID, rs[i:min(i+1000, len(rs))]); err != nil {
			return fmt.Errorf("record %d results: %w", len(rs), err)
		}
	}
	return nil
}

// Retry sends events taken from the ledger rather than from files: those
// that failed before and, when a person has released them, those held as
// uncertain. Each becomes one result row of the run.
func (j *Job) Retry(ctx context.Context, runID int64, evs []*crmsync.Event, s *crmsync.Summary) error {
	if j.Concurrency <= 0 {
		j.Concurrency = 4
	}
	if j.Logger == nil {
		j.Logger = slog.New(slog.DiscardHandler)
	}
	rs := make([]*crmsync.Result, 0, len(evs))
	for i, ev := range evs {
		rs = append(rs, &crmsync.Result{
			Seq: int64(i + 1), Kind: ev.Kind, Key: ev.Key, Lane: ev.Lane, Time: ev.Time,
			Body: ev.Body, Hash: ev.Hash, Outcome: crmsync.OutcomeNew,
			Source: crmsync.SourceRef{File: "ledger"},
		})
		s.Add(ev.Kind, crmsync.OutcomeNew)
	}
	for i := 0; i < len(rs); i += 1000 {
		if err := j.Ledger.Record(ctx, runID, rs[i:min(i+1000, len(rs))]); err != nil {
			return err
		}
	}
	if j.Sender == nil || len(rs) == 0 {
		return nil
	}
	return j.send(ctx, runID, len(rs), nil, s)
}
