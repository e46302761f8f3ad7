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
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/mallcoo"
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

// StoppedError is the error of a run whose sending stopped early (the
// setup or Mallcoo at fault): Why, also Summary.Stopped, in both languages.
type StoppedError struct{ Why crmsync.Text }

func (e *StoppedError) Error() string { return "sending stopped: " + e.Why.EN }

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
	d := &differ{ctx: ctx, job: j, runID: runID, summary: s, seen: newKeySet(j.tempDir(), j.keyCapacity())}
	defer d.seen.close()
	err := j.Reader.ReadFiles(ctx, files, d.add, func(sums []crmsync.FileSummary) error {
		if err := d.flush(ctx); err != nil {
			return err
		}
		for _, f := range sums {
			s.Files = append(s.Files, f)
			switch {
			case !f.Problem.IsZero() && f.Rows > 0:
				// Its rows were read (and go as their outcomes say); the
				// problem is about the rest (orphan-items: list items no
				// order has, a file cut short).
				j.Logger.Warn("file read with a problem", "file", f.Path, "sheet", f.Sheet, "rows", f.Rows, "code", f.Code, "problem", f.Problem)
			case !f.Problem.IsZero():
				j.Logger.Warn("file not read", "file", f.Path, "sheet", f.Sheet, "code", f.Code, "problem", f.Problem)
			}
		}
		return nil
	})
	if err != nil {
		return err
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
		_, ok := d.seen.get(keyID(&crmsync.Event{Kind: k, Key: key}))
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
		r := &crmsync.Result{
			Seq: d.seq, Kind: ev.Kind, Key: ev.Key, Lane: ev.Lane, Time: ev.Time,
			Body: ev.Body, Hash: ev.Hash, Outcome: crmsync.OutcomeNew,
			Source: crmsync.SourceRef{File: "ledger"},
		}
		rs = append(rs, r)
		if refuseStored(r) {
			d.summary.Add(ev.Kind, r.Outcome)
			continue
		}
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
	queued := 0
	for i, ev := range evs {
		r := &crmsync.Result{
			Seq: int64(i + 1), Kind: ev.Kind, Key: ev.Key, Lane: ev.Lane, Time: ev.Time,
			Body: ev.Body, Hash: ev.Hash, Outcome: crmsync.OutcomeNew,
			Source: crmsync.SourceRef{File: "ledger"},
		}
		rs = append(rs, r)
		if !refuseStored(r) {
			queued++
		}
		s.Add(ev.Kind, r.Outcome)
	}
	for i := 0; i < len(rs); i += 1000 {
		if err := j.Ledger.Record(ctx, runID, rs[i:min(i+1000, len(rs))]); err != nil {
			return err
		}
	}
	if j.Sender == nil || queued == 0 {
		return nil
	}
	return j.send(ctx, runID, queued, nil, s)
}

// refuseStored makes r, about to be sent with a body the ledger kept
// (retry, apply, a blocked event whose blocker cleared), invalid when the
// body breaks a rule of today's crmsync, as it would go on the wire
// (mallcoo.CheckBody of mallcoo.WireBody): an older crmsync may have stored
// it before the rule existed (money with three decimals). Such a body is
// never sent; the event keeps its state in the ledger (so later events of
// its lane stay held behind it) until a fixed row of it is imported or a
// person resolves it. It reports whether r was refused.
func refuseStored(r *crmsync.Result) bool {
	err := mallcoo.CheckBody(r.Kind, mallcoo.WireBody(r.Kind, r.Body))
	if err == nil {
		return false
	}
	field, why := "", err.Error()
	var fe *mallcoo.FieldError
	if errors.As(err, &fe) {
		field, why = fe.Field, fe.Error()
	}
	// The column is the body's field; inside a list
	// (ConsumePayList[0].Amount) the list's, the reason names the item.
	column, _, _ := strings.Cut(field, "[")
	p := crmsync.NewProblem(column, crmsync.ReasonStoredBody, "",
		"账本中保存的请求体不符合现行规则("+why+"),未发送:请在CRM中修正此行,导出后运行(修正后的行会发送);或用 crmsync resolve -as dismiss 放弃",
		"the body kept in the ledger breaks a rule of this crmsync ("+why+"): not sent; fix the row in the CRM, export it and run it (the fixed row is sent), or give it up with crmsync resolve -as dismiss")
	r.Outcome, r.Column, r.Reason = crmsync.OutcomeInvalid, column, crmsync.EncodeProblems([]crmsync.Problem{p})
	if len(r.Values) == 0 {
		r.Values = bodyValues(r.Kind, r.Body)
	}
	return true
}

// bodyValues are the cells of a body the ledger kept, in template order
// (mallcoo.SpecOf(kind).Fields), as an import file would hold them: so the
// report and the problems workbook show the row to fix. A string is its
// text (URL-encoded text decoded), a number or list its JSON, null "".
func bodyValues(kind crmsync.Kind, body []byte) []string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return nil
	}
	fields := mallcoo.SpecOf(kind).Fields
	vals := make([]string, len(fields))
	for i, f := range fields {
		raw := obj[f.Name]
		var s string
		switch {
		case len(raw) == 0 || string(raw) == "null":
		case raw[0] == '"' && json.Unmarshal(raw, &s) == nil:
			if f.URLText {
				if u, err := url.QueryUnescape(s); err == nil {
					s = u
				}
			}
			vals[i] = s
		default:
			vals[i] = string(raw)
		}
	}
	return vals
}
