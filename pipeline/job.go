// Package pipeline drives every crmsync run from start to end: Run for
// run, plan and retry (open the ledger, lock, begin the run, the job, the
// report, end the run: run.go) and Reconcile (reconcile.go). A Job reads
// (package importer) → validates → diffs against the ledger (diff.go, by
// crmsync.Diff) → claims → sends (package mallcoo), lanes in parallel on an
// errgroup, each lane in order (job.go) → records (commit.go: the group
// commits of claims and results). It parses no flags and prints nothing.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/mallcoo"
	"golang.org/x/sync/errgroup"
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
	Concurrency int // parallel lanes while sending, default 4
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
	for i := 0; i < len(rs); i += 1000 {
		if err := d.job.Ledger.Record(ctx, d.runID, rs[i:min(i+1000, len(rs))]); err != nil {
			return fmt.Errorf("record %d results: %w", len(rs), err)
		}
	}
	return nil
}

// heldBefore returns a held event other than r itself at or before r's
// event time: r must wait for it.
func heldBefore(hs []crmsync.Held, r *crmsync.Result) (crmsync.Held, bool) {
	for _, h := range hs {
		if h.Key != r.Key && !h.Time.After(r.Time) {
			return h, true
		}
	}
	return crmsync.Held{}, false
}

// laneID names a lane within its kind: lane blocking is per kind (a failed
// grade change holds back the member's later grade changes, not its sales).
type laneID struct {
	kind crmsync.Kind
	lane string
}

// send delivers the run's queued rows, read back from the ledger in lane,
// event-time order: lanes in parallel (bounded), each lane's events one at a
// time; every event is claimed durably before its request leaves, and
// results are recorded in batches. total is the number queued (progress).
func (j *Job) send(ctx context.Context, runID int64, total int, invalid []crmsync.Held, s *crmsync.Summary) error {
	// Events of lane-blocking kinds that did not go through, in this run's
	// files or not (a failed points change of last week), and this run's
	// invalid rows of those kinds: later events of their kind and lane wait
	// for them.
	helds, err := j.Ledger.Held(ctx)
	if err != nil {
		return err
	}
	helds = append(helds, invalid...)
	held := map[laneID][]crmsync.Held{}
	for _, h := range helds {
		k := laneID{h.Kind, h.Lane}
		held[k] = append(held[k], h)
	}

	// Cancelling ctx (Ctrl-C) stops new sends; requests already claimed
	// finish under sendCtx and are recorded. (A second Ctrl-C makes cmd quit
	// at once: claims are durable, so those come back uncertain.)
	// A send still waiting for the rate limit gives up at Ctrl-C (it never
	// left: failed, sent by the next run).
	sendCtx := mallcoo.WithInterrupt(context.WithoutCancel(ctx), ctx.Done())
	c := newClaimer(j.Ledger, runID)
	defer c.close()
	rec := newRecorder(j.Ledger, runID)

	var (
		mu      sync.Mutex
		stopped string
		unsent  []*crmsync.Event // claimed with their batch, never sent (guarded by mu)
		done    atomic.Int64
		smu     sync.Mutex // guards s
	)
	stop := func(why string) {
		mu.Lock()
		if stopped == "" {
			stopped = why
		}
		mu.Unlock()
	}
	isStopped := func() string {
		mu.Lock()
		defer mu.Unlock()
		return stopped
	}
	finish := func(r *crmsync.Result, o crmsync.Outcome) {
		r.Outcome = o
		smu.Lock()
		s.Move(r.Kind, crmsync.OutcomeNew, o)
		smu.Unlock()
		rec.add(r)
		n := done.Add(1)
		if j.Progress != nil {
			j.Progress("send", int(n), total)
		}
	}

	// Rejections are held back while they may be the setup's fault rather
	// than the rows': Mallcoo may answer refused credentials, a wrong mall
	// or clock with HTTP 200 and a Code, and the client stops after a
	// streak of them (mallcoo.Config OpenStreak, RejectStreak). An accepted
	// answer or another Code releases them as rejected; a stop makes them
	// failed, so they are sent again once the setup is fixed (a rejected
	// event was not applied: sending it again is safe).
	var (
		rmu      sync.Mutex
		rejected []*crmsync.Result
	)
	release := func(o crmsync.Outcome, why string) {
		rmu.Lock()
		rs := rejected
		rejected = nil
		rmu.Unlock()
		for _, r := range rs {
			if o == crmsync.OutcomeFailed {
				r.Reason = fmt.Sprintf("猫酷拒绝(Code %d),但发送因整体问题停止(%s),像是配置问题而非此行;修正后重新运行会重发 / rejected with Code %d, but sending stopped for a cause common to all rows (%s): the setup, not this row, looks wrong; sent again once fixed", r.Code, why, r.Code, why)
			}
			finish(r, o)
		}
	}
	hold := func(r *crmsync.Result) {
		rmu.Lock()
		var out []*crmsync.Result
		if len(rejected) > 0 && (rejected[0].Code != r.Code || len(rejected) >= maxHeldRejections) {
			out, rejected = rejected, nil
		}
		rejected = append(rejected, r)
		rmu.Unlock()
		for _, r := range out {
			finish(r, crmsync.OutcomeRejected)
		}
	}

	var fatal error
	var fatalOnce sync.Once
	// sendLane sends one lane's events in order.
	sendLane := func(lane []*crmsync.Result, preclaimed bool) {
		blocked := map[crmsync.Kind]string{}
		// waiting holds this lane's held events (per kind) not yet sent in
		// this run; one of them sent now stops holding the lane.
		var waiting map[crmsync.Kind][]crmsync.Held
		for _, r := range lane {
			if hs := held[laneID{r.Kind, r.Lane}]; len(hs) > 0 {
				if waiting == nil {
					waiting = map[crmsync.Kind][]crmsync.Held{}
				}
				if _, ok := waiting[r.Kind]; !ok {
					waiting[r.Kind] = slices.Clone(hs)
				}
			}
		}
		for _, r := range lane {
			ev := &crmsync.Event{Kind: r.Kind, Key: r.Key, Lane: r.Lane, Time: r.Time, Body: r.Body, Hash: r.Hash}
			if why := isStopped(); why != "" {
				r.Reason = "未发送:" + why + " / not sent: " + why
				finish(r, crmsync.OutcomeFailed)
				continue
			}
			if ctx.Err() != nil {
				// Interrupted: not sent; it stays new in the results, and
				// the next run sees it as new. One claimed with its batch
				// is released below: its request never left.
				if preclaimed && j.safe(r.Kind) {
					mu.Lock()
					unsent = append(unsent, ev)
					mu.Unlock()
				}
				continue
			}
			if why, ok := blocked[r.Kind]; ok {
				r.Reason = why
				finish(r, crmsync.OutcomeBlocked)
				continue
			}
			if h, ok := heldBefore(waiting[r.Kind], r); ok {
				r.Reason = fmt.Sprintf("同一会员更早的同类事件 %s 状态为%s,为保证顺序未发送;处理该事件后重新运行 / an earlier event of this member (%s) is %s; not sent, to keep the order: resolve it, then run again", h.Key, h.State, h.Key, h.State)
				finish(r, crmsync.OutcomeBlocked)
				continue
			}
			if err := rec.failed(); err != nil {
				// Answers can no longer be recorded: sending on would leave
				// every later event in flight (uncertain next run).
				fatalOnce.Do(func() { fatal = err })
				stop("账本写入失败 / the ledger could not record results")
				r.Reason = "未发送:账本写入失败 / not sent: the ledger could not record results"
				continue
			}
			if preclaimed && j.safe(r.Kind) {
				// Claimed with its batch (see below).
			} else if err := c.claim(sendCtx, ev); err != nil {
				fatalOnce.Do(func() { fatal = fmt.Errorf("claim %s %s: %w", r.Kind, r.Key, err) })
				stop("账本写入失败 / ledger write failed")
				continue
			}
			// Bodies queued by an older crmsync (a plan applied, a failed
			// event retried) hold every empty field as null: they go out in
			// the wire form too. WireBody leaves a wire-form body as it is.
			reply, err := j.Sender.Send(sendCtx, r.Kind, mallcoo.WireBody(r.Kind, r.Body))
			r.Attempts = reply.Attempts
			o := crmsync.OutcomeSent
			switch {
			case err != nil && !j.safe(r.Kind) && errors.Is(err, crmsync.ErrMaybeDelivered):
				// The request may have been applied: resending a grade or
				// points change could apply it twice.
				o = crmsync.OutcomeUncertain
				r.Reason = "请求可能已送达但未收到应答,为避免重复已暂停;确认后用 crmsync retry -uncertain 重发 / may have been delivered (no answer); held: check Mallcoo, then crmsync retry -uncertain: " + err.Error()
			case err != nil:
				o = crmsync.OutcomeFailed
				r.Reason = "发送失败,下次运行将重试 / not delivered, retried next run: " + err.Error()
				if reply.Code != 0 {
					// An answer that completed a streak of rejections.
					r.HasCode, r.Code, r.Message = true, reply.Code, reply.Message
				}
				if errors.Is(err, crmsync.ErrSystemic) {
					stop(err.Error())
					release(crmsync.OutcomeFailed, isStopped())
				}
			case !reply.OK():
				o = crmsync.OutcomeRejected
				r.HasCode, r.Code, r.Message = true, reply.Code, reply.Message
				r.Reason = "猫酷拒绝 / rejected by Mallcoo"
			default:
				r.HasCode, r.Code, r.Message = true, reply.Code, reply.Message
			}
			if o == crmsync.OutcomeSent && len(waiting[r.Kind]) > 0 {
				// A held event that went through holds nothing back now.
				waiting[r.Kind] = slices.DeleteFunc(waiting[r.Kind], func(h crmsync.Held) bool { return h.Key == r.Key })
			}
			if o != crmsync.OutcomeSent && r.Kind.BlocksLane() {
				blocked[r.Kind] = fmt.Sprintf("同一会员的前序事件 %s 未成功,为保证顺序未发送 / an earlier event of this member (%s) did not go through; held to keep the order", r.Key, r.Key)
			}
			switch o {
			case crmsync.OutcomeRejected:
				hold(r)
				continue
			case crmsync.OutcomeSent:
				release(crmsync.OutcomeRejected, "")
			}
			finish(r, o)
		}
	}

	// Lanes go out on at most Concurrency goroutines. The group has no
	// context: a cancel stops new sends in sendLane, while the requests
	// already claimed finish and are recorded.
	var lanes errgroup.Group
	lanes.SetLimit(j.Concurrency)
	// The queue comes back ordered by lane: gather lanes, and hand each to
	// a free slot of the group. Events of kinds that are safe to resend (score,
	// member) are claimed in batches before their lanes go out: one durable
	// commit for many events, and a crash only makes the unsent ones
	// uncertain, which are resent. Other kinds are claimed one by one just
	// before their request, so none is held for a person needlessly.
	var (
		lane    []*crmsync.Result
		pending [][]*crmsync.Result
		safe    []*crmsync.Event
	)
	dispatch := func() error {
		// After a stop, lanes still go to the workers, which record their
		// events as failed (unclaimed) for retry or the next run.
		if len(safe) > 0 && isStopped() == "" {
			if err := c.claimBatch(sendCtx, safe); err != nil {
				fatalOnce.Do(func() { fatal = err })
				stop("账本写入失败 / ledger write failed")
				return err
			}
		}
		for _, rs := range pending {
			lanes.Go(func() error {
				sendLane(rs, true)
				return nil
			})
		}
		pending, safe = pending[:0], safe[:0]
		return nil
	}
	push := func(rs []*crmsync.Result) error {
		pending = append(pending, rs)
		for _, r := range rs {
			if j.safe(r.Kind) {
				safe = append(safe, &crmsync.Event{Kind: r.Kind, Key: r.Key, Lane: r.Lane, Time: r.Time, Body: r.Body, Hash: r.Hash})
			}
		}
		if len(safe) >= claimBatch || len(pending) >= claimBatch {
			return dispatch()
		}
		return nil
	}
	walkErr := j.Ledger.Queued(ctx, runID, func(r *crmsync.Result) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if len(lane) > 0 && lane[0].Lane != r.Lane {
			if err := push(lane); err != nil {
				return err
			}
			lane = nil
		}
		lane = append(lane, r)
		return nil
	})
	if walkErr == nil && len(lane) > 0 {
		walkErr = push(lane)
	}
	if walkErr == nil {
		walkErr = dispatch()
	}
	lanes.Wait()
	if len(unsent) > 0 {
		// Only requests that may really have left stay in flight (and come
		// back uncertain if the answer is not recorded).
		if err := j.Ledger.Release(sendCtx, runID, unsent); err != nil && fatal == nil {
			fatal = fmt.Errorf("release %d unsent claims: %w", len(unsent), err)
		}
	}
	if why := isStopped(); why != "" {
		release(crmsync.OutcomeFailed, why)
	} else {
		release(crmsync.OutcomeRejected, "")
	}
	if err := rec.close(ctx); err != nil && fatal == nil {
		fatal = err
	}
	for _, r := range rec.lost {
		// Answered but not recorded: the ledger still has it in flight,
		// and the next run holds it as uncertain; say so now.
		if r.Attempts > 0 && r.Outcome != crmsync.OutcomeUncertain {
			s.Move(r.Kind, r.Outcome, crmsync.OutcomeUncertain)
		}
	}
	if fatal != nil {
		return fatal
	}
	if walkErr != nil && ctx.Err() == nil && fatal == nil {
		return walkErr // the ledger's, naming the queue (errors of fn are fatal's)
	}
	if why := isStopped(); why != "" {
		s.Stopped = why
		return fmt.Errorf("%w: %s", errStopped, why)
	}
	return ctx.Err()
}

// maxHeldRejections bounds the rejections held back while they may be the
// setup's fault (above the client's default RejectStreak of 100).
const maxHeldRejections = 1000

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
