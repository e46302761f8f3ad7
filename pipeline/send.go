package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
	"golang.org/x/sync/errgroup"
)

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

// maxHeldRejections bounds the rejections held back while they may be the
// setup's fault (above the client's default RejectStreak of 100).
const maxHeldRejections = 1000

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
	// This run's invalid rows first: a reason names the row (file:row);
	// the ledger lists them too, under their event key, as it does those
	// of earlier runs.
	helds = append(slices.Clip(invalid), helds...)
	held := map[laneID][]crmsync.Held{}
	for _, h := range helds {
		k := laneID{h.Kind, h.Lane}
		held[k] = append(held[k], h)
	}
	sd := &sender{job: j, ctx: ctx, runID: runID, total: total, summary: s, held: held}
	return sd.run()
}

// sender is one run's send stage: it hands the queued lanes to a bounded
// group of workers, claims each event durably before its request leaves,
// classifies the answers and records them (the committer's group commits).
// It is used once.
type sender struct {
	job     *Job
	ctx     context.Context // the run's: a cancel stops new sends
	runID   int64
	total   int // events queued (progress)
	summary *crmsync.Summary
	held    map[laneID][]crmsync.Held

	// sendCtx outlives a cancel of ctx: requests already claimed finish
	// under it and are recorded.
	sendCtx context.Context
	commit  *committer
	lanes   errgroup.Group
	// slots bounds the requests out at once (Job.Concurrency); a lane
	// takes one after its event's claim, for the request.
	slots chan struct{}

	mu        sync.Mutex
	stopped   crmsync.Text
	unsentWhy string           // the reason of the events not sent since: notSent(stopped), made once
	unsent    []*crmsync.Event // claimed, never sent: interrupted (guarded by mu)
	done      atomic.Int64
	smu       sync.Mutex // guards summary

	// Rejections are held back while they may be the setup's fault rather
	// than the rows': Mallcoo may answer refused credentials, a wrong mall
	// or clock with HTTP 200 and a Code, and the client stops after a
	// streak of them (mallcoo.Config OpenStreak, RejectStreak). An accepted
	// answer or another Code releases them as rejected; a stop makes them
	// failed, so they are sent again once the setup is fixed (a rejected
	// event was not applied: sending it again is safe).
	rmu      sync.Mutex
	rejected []*crmsync.Result

	fatal     error
	fatalOnce sync.Once

	// Lanes read from the queue, not yet handed to the group, and the
	// events of safe kinds among them, claimed together (dispatch).
	pending [][]*crmsync.Result
	safe    []*crmsync.Event
}

// ledgerFailed is why sending stops when the ledger cannot record.
var ledgerFailed = crmsync.Say("账本写入失败", "the ledger could not record results")

// rejectedReason is the reason of a rejection.
var rejectedReason = crmsync.Because(crmsync.ReasonRejected)

// notSent is the reason of an event not sent because sending stopped.
func notSent(why crmsync.Text) string { return crmsync.Because(crmsync.ReasonNotSent, pair(why)...) }

// stopWhy is why err, a systemic error of the sender, stops sending: the
// client's words in both languages when it says them (a *mallcoo.StopError),
// else the error's.
func stopWhy(err error) crmsync.Text {
	if se, ok := errors.AsType[*mallcoo.StopError](err); ok {
		return se.Why
	}
	return crmsync.Say(err.Error(), err.Error())
}

// pair is why as the last args of a reason: its Chinese and English
// texts, or the one text when both are the same.
func pair(why crmsync.Text) []string {
	if why.ZH == why.EN {
		return []string{why.ZH}
	}
	return []string{why.ZH, why.EN}
}

// stop ends sending for reason why (the first reason stays).
func (sd *sender) stop(why crmsync.Text) {
	sd.mu.Lock()
	if sd.stopped.IsZero() {
		sd.stopped, sd.unsentWhy = why, notSent(why)
	}
	sd.mu.Unlock()
}

// isStopped returns why sending stopped, or the zero Text.
func (sd *sender) isStopped() crmsync.Text {
	sd.mu.Lock()
	defer sd.mu.Unlock()
	return sd.stopped
}

// unsentReason is the reason of an event not sent because sending
// stopped ("" while it goes on).
func (sd *sender) unsentReason() string {
	sd.mu.Lock()
	defer sd.mu.Unlock()
	return sd.unsentWhy
}

// setFatal keeps the first run-level error.
func (sd *sender) setFatal(err error) {
	sd.fatalOnce.Do(func() { sd.fatal = err })
}

// finish gives r its outcome o, counts it and queues it to be recorded.
func (sd *sender) finish(r *crmsync.Result, o crmsync.Outcome) {
	r.Outcome = o
	sd.smu.Lock()
	sd.summary.Move(r.Kind, crmsync.OutcomeNew, o)
	sd.smu.Unlock()
	sd.commit.add(r)
	n := sd.done.Add(1)
	if sd.job.Progress != nil {
		sd.job.Progress("send", int(n), sd.total)
	}
}

// release finishes the held-back rejections with outcome o; why is the
// stop's reason when o is failed.
func (sd *sender) release(o crmsync.Outcome, why crmsync.Text) {
	sd.rmu.Lock()
	rs := sd.rejected
	sd.rejected = nil
	sd.rmu.Unlock()
	for _, r := range rs {
		if o == crmsync.OutcomeFailed {
			r.Reason = crmsync.Because(crmsync.ReasonRejectedStopped, append([]string{strconv.Itoa(r.Code)}, pair(why)...)...)
		}
		sd.finish(r, o)
	}
}

// hold holds back rejection r; another Code or too many held release the
// ones held before as rejected.
func (sd *sender) hold(r *crmsync.Result) {
	sd.rmu.Lock()
	var out []*crmsync.Result
	if len(sd.rejected) > 0 && (sd.rejected[0].Code != r.Code || len(sd.rejected) >= maxHeldRejections) {
		out, sd.rejected = sd.rejected, nil
	}
	sd.rejected = append(sd.rejected, r)
	sd.rmu.Unlock()
	for _, r := range out {
		sd.finish(r, crmsync.OutcomeRejected)
	}
}

// sendLane sends one lane's events in order. preclaimed says the events of
// safe kinds were claimed with their batch (dispatch).
func (sd *sender) sendLane(lane []*crmsync.Result, preclaimed bool) {
	j := sd.job
	blocked := map[crmsync.Kind]string{}
	// waiting holds this lane's held events (per kind) not yet sent in
	// this run; one of them sent now stops holding the lane.
	var waiting map[crmsync.Kind][]crmsync.Held
	for _, r := range lane {
		if hs := sd.held[laneID{r.Kind, r.Lane}]; len(hs) > 0 {
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
		if why := sd.unsentReason(); why != "" {
			r.Reason = why
			sd.finish(r, crmsync.OutcomeFailed)
			continue
		}
		if sd.ctx.Err() != nil {
			// Interrupted: not sent; it stays new in the results, and
			// the next run sees it as new. One claimed with its batch
			// is released below: its request never left.
			if preclaimed && j.safe(r.Kind) {
				sd.mu.Lock()
				sd.unsent = append(sd.unsent, ev)
				sd.mu.Unlock()
			}
			continue
		}
		if why, ok := blocked[r.Kind]; ok {
			r.Reason = why
			sd.finish(r, crmsync.OutcomeBlocked)
			continue
		}
		if h, ok := heldBefore(waiting[r.Kind], r); ok {
			r.Reason = crmsync.Because(crmsync.ReasonHeldOrder, h.Key, string(h.State))
			sd.finish(r, crmsync.OutcomeBlocked)
			continue
		}
		if err := sd.commit.failed(); err != nil {
			// Answers can no longer be recorded: sending on would leave
			// every later event in flight (uncertain next run).
			sd.setFatal(err)
			sd.stop(ledgerFailed)
			r.Reason = notSent(ledgerFailed)
			continue
		}
		if preclaimed && j.safe(r.Kind) {
			// Claimed with its batch (see dispatch).
		} else if err := sd.commit.claim(sd.sendCtx, ev); err != nil {
			sd.setFatal(&EventError{Op: "claim", Kind: r.Kind, Key: r.Key, Body: r.Body, Err: err})
			sd.stop(ledgerFailed)
			continue
		}
		// The claim is durable: wait for a request slot. Lanes outnumber
		// the slots (run), so claims commit while other requests are out.
		if !sd.acquire() {
			// Interrupted while waiting: its request never left. The
			// claim is released at once, not after the requests out
			// have finished: a second Ctrl-C quits without waiting, and
			// the event would come back uncertain. If this fails it is
			// tried again at the end.
			if err := j.Ledger.Release(sd.sendCtx, sd.runID, []*crmsync.Event{ev}); err != nil {
				sd.mu.Lock()
				sd.unsent = append(sd.unsent, ev)
				sd.mu.Unlock()
			}
			continue
		}
		if why := sd.unsentReason(); why != "" {
			// Claimed, never sent: recorded failed, sent again by retry
			// or the next run.
			<-sd.slots
			r.Reason = why
			sd.finish(r, crmsync.OutcomeFailed)
			continue
		}
		// Bodies queued by an older crmsync (a plan applied, a failed
		// event retried) hold every empty field as null: they go out in
		// the wire form too. WireBody leaves a wire-form body as it is.
		reply, err := j.Sender.Send(sd.sendCtx, r.Kind, mallcoo.WireBody(r.Kind, r.Body))
		r.Attempts = reply.Attempts
		o := crmsync.OutcomeSent
		switch {
		case err != nil && !j.safe(r.Kind) && errors.Is(err, crmsync.ErrMaybeDelivered):
			// The request may have been applied: resending a grade or
			// points change could apply it twice.
			o = crmsync.OutcomeUncertain
			r.Reason = crmsync.Because(crmsync.ReasonNoAnswer, err.Error())
		case err != nil:
			o = crmsync.OutcomeFailed
			r.Reason = crmsync.Because(crmsync.ReasonNotDelivered, err.Error())
			if reply.Code != 0 {
				// An answer that completed a streak of rejections.
				r.HasCode, r.Code, r.Message = true, reply.Code, reply.Message
			}
			if errors.Is(err, crmsync.ErrSystemic) {
				// The client stopped (credentials refused, a streak of
				// rejections): why, in both languages.
				why := stopWhy(err)
				r.Reason = crmsync.Because(crmsync.ReasonNotDelivered, pair(why)...)
				sd.stop(why)
				sd.release(crmsync.OutcomeFailed, sd.isStopped())
			}
		case !reply.OK():
			o = crmsync.OutcomeRejected
			r.HasCode, r.Code, r.Message = true, reply.Code, reply.Message
			r.Reason = rejectedReason
		default:
			r.HasCode, r.Code, r.Message = true, reply.Code, reply.Message
		}
		if o == crmsync.OutcomeSent && len(waiting[r.Kind]) > 0 {
			// A held event that went through holds nothing back now.
			waiting[r.Kind] = slices.DeleteFunc(waiting[r.Kind], func(h crmsync.Held) bool { return h.Key == r.Key })
		}
		if o != crmsync.OutcomeSent && r.Kind.BlocksLane() {
			blocked[r.Kind] = crmsync.Because(crmsync.ReasonEarlierFailed, r.Key)
		}
		// The slot is freed once the answer has been judged (a stop
		// decided, a rejection held back or released): the lane that
		// takes the slot next sees that, and answers are judged in the
		// order their requests went (one at a time at -concurrency 1),
		// not one request more after a streak, nor a rejection held
		// behind a later one.
		switch o {
		case crmsync.OutcomeRejected:
			sd.hold(r)
			<-sd.slots
			continue
		case crmsync.OutcomeSent:
			sd.release(crmsync.OutcomeRejected, crmsync.Text{})
		}
		<-sd.slots
		sd.finish(r, o)
	}
}

// acquire takes a request slot; it returns false, holding none, when the
// run's ctx is cancelled first.
func (sd *sender) acquire() bool {
	select {
	case sd.slots <- struct{}{}:
	case <-sd.ctx.Done():
		return false
	}
	if sd.ctx.Err() != nil {
		<-sd.slots
		return false
	}
	return true
}

// dispatch claims the pending lanes' events of safe kinds in one durable
// commit and hands the lanes to the group.
func (sd *sender) dispatch() error {
	// After a stop, lanes still go to the workers, which record their
	// events as failed (unclaimed) for retry or the next run.
	if len(sd.safe) > 0 && sd.isStopped().IsZero() {
		if err := sd.commit.claim(sd.sendCtx, sd.safe...); err != nil {
			sd.setFatal(err)
			sd.stop(ledgerFailed)
			return err
		}
	}
	for _, rs := range sd.pending {
		sd.lanes.Go(func() error {
			sd.sendLane(rs, true)
			return nil
		})
	}
	sd.pending, sd.safe = sd.pending[:0], sd.safe[:0]
	return nil
}

// push adds a lane read from the queue; a full batch is dispatched.
func (sd *sender) push(rs []*crmsync.Result) error {
	sd.pending = append(sd.pending, rs)
	for _, r := range rs {
		if sd.job.safe(r.Kind) {
			sd.safe = append(sd.safe, &crmsync.Event{Kind: r.Kind, Key: r.Key, Lane: r.Lane, Time: r.Time, Body: r.Body, Hash: r.Hash})
		}
	}
	if len(sd.safe) >= claimBatch || len(sd.pending) >= claimBatch {
		return sd.dispatch()
	}
	return nil
}

// run sends every queued event of the run and records the answers; it
// returns run-level trouble, a *StoppedError after an early stop, or the run's
// ctx.Err() after what was done is recorded.
func (sd *sender) run() error {
	j, ctx, s := sd.job, sd.ctx, sd.summary
	// Cancelling ctx (Ctrl-C) stops new sends; requests already claimed
	// finish under sendCtx and are recorded. (A second Ctrl-C makes cmd quit
	// at once: claims are durable, so those come back uncertain.)
	// A send still waiting for the rate limit gives up at Ctrl-C (it never
	// left: failed, sent by the next run).
	sd.sendCtx = mallcoo.WithInterrupt(context.WithoutCancel(ctx), ctx.Done())
	sd.commit = newCommitter(j.Ledger, sd.runID)

	// At most Concurrency requests are out at once (slots), and lanes go
	// out on up to twice as many goroutines: while Concurrency requests
	// are out, the other lanes' claims are committed together (committer),
	// so an event does not wait for its own commit once a slot frees. The
	// price: a crash (kill -9, power cut) leaves up to Concurrency more
	// events claimed whose requests never left; they come back uncertain
	// like those that did (held for a person unless safe to resend), never
	// sent twice. An interrupt releases them at once. The group has no
	// context: a cancel stops new sends in sendLane, while the requests
	// already out finish and are recorded.
	sd.slots = make(chan struct{}, j.Concurrency)
	sd.lanes.SetLimit(2 * j.Concurrency)
	// The queue comes back ordered by lane: gather lanes, and hand each to
	// a free slot of the group. Events of kinds that are safe to resend (score,
	// member) are claimed in batches before their lanes go out: one durable
	// commit for many events, and a crash only makes the unsent ones
	// uncertain, which are resent. Other kinds are claimed one by one just
	// before their request, so none is held for a person needlessly.
	var lane []*crmsync.Result
	walkErr := j.Ledger.Queued(ctx, sd.runID, func(r *crmsync.Result) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if len(lane) > 0 && lane[0].Lane != r.Lane {
			if err := sd.push(lane); err != nil {
				return err
			}
			lane = nil
		}
		lane = append(lane, r)
		return nil
	})
	if walkErr == nil && len(lane) > 0 {
		walkErr = sd.push(lane)
	}
	if walkErr == nil {
		walkErr = sd.dispatch()
	}
	sd.lanes.Wait()
	if len(sd.unsent) > 0 {
		// Only requests that may really have left stay in flight (and come
		// back uncertain if the answer is not recorded).
		if err := j.Ledger.Release(sd.sendCtx, sd.runID, sd.unsent); err != nil && sd.fatal == nil {
			sd.fatal = fmt.Errorf("release %d unsent claims: %w", len(sd.unsent), err)
		}
	}
	if why := sd.isStopped(); !why.IsZero() {
		sd.release(crmsync.OutcomeFailed, why)
	} else {
		sd.release(crmsync.OutcomeRejected, crmsync.Text{})
	}
	if err := sd.commit.close(); err != nil && sd.fatal == nil {
		sd.fatal = err
	}
	for _, r := range sd.commit.lost {
		// Answered but not recorded: the ledger still has it in flight,
		// and the next run holds it as uncertain; say so now.
		if r.Attempts > 0 && r.Outcome != crmsync.OutcomeUncertain {
			s.Move(r.Kind, r.Outcome, crmsync.OutcomeUncertain)
		}
	}
	if sd.fatal != nil {
		return sd.fatal
	}
	if walkErr != nil && ctx.Err() == nil {
		return walkErr // the ledger's, naming the queue (errors of fn are fatal's)
	}
	if why := sd.isStopped(); !why.IsZero() {
		s.Stopped = why
		return &StoppedError{Why: why}
	}
	return ctx.Err()
}
