// Package pipeline drives crmsync's runs: read (package importer) →
// validate → diff against the ledger → claim → send (package mallcoo) →
// record. It owns the diff, the claims and the bounded, per-member ordered
// sending; it parses no flags and prints nothing.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/mallcoo"
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
	d := &differ{ctx: ctx, job: j, runID: runID, summary: s, seen: map[[16]byte]uint64{}, sheets: map[crmsync.SourceRef]uint64{}, hash: fnv.New128a()}
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
		_, ok := d.seen[keyID(d.hash, &crmsync.Event{Kind: k, Key: key})]
		return ok
	}
	evs, _, err := Sendable(ctx, l, []crmsync.State{crmsync.StateBlocked}, inInput)
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

// differ classifies rows in batches against the ledger.
type differ struct {
	ctx     context.Context
	job     *Job
	runID   int64
	summary *crmsync.Summary
	seq     int64
	batch   []*crmsync.Row
	// seen holds the keys met in this run's input (a 128-bit hash of each,
	// ~30 bytes a row) with where each was first met, packed as
	// sheet index << 32 | row; sheets numbers the (file, sheet) pairs.
	seen      map[[16]byte]uint64
	sheets    map[crmsync.SourceRef]uint64
	sheetRefs []crmsync.SourceRef
	// invalid are this run's invalid rows of lane-blocking kinds whose
	// member is known: the member's later events of the kind wait for the
	// fixed row.
	invalid []crmsync.Held
	queued  int // rows recorded as new, to send
	read    int
	hash    hash.Hash // reused by keyID
}

func (d *differ) add(r *crmsync.Row) error {
	if d.job.MaxRows > 0 && d.read+len(d.batch) >= d.job.MaxRows {
		return &RowLimitError{Limit: d.job.MaxRows, At: r.Source}
	}
	d.batch = append(d.batch, r)
	if len(d.batch) >= d.job.Batch {
		return d.flush(d.ctx)
	}
	return nil
}

// holdInvalid remembers an invalid grade or points row whose member can be
// read: sending that member's later changes of the kind would overtake the
// row once it is fixed. When its time cannot be read it holds them all.
func (d *differ) holdInvalid(r *crmsync.Row) {
	if !r.Kind.BlocksLane() {
		return
	}
	lane, at, ok := importer.LaneOf(r)
	if !ok {
		return
	}
	h := crmsync.Held{Kind: r.Kind, Lane: lane, Key: r.Source.String(), State: "invalid", Time: at}
	d.invalid = append(d.invalid, h)
}

// sheetIndex numbers the (file, sheet) of ref.
func (d *differ) sheetIndex(ref crmsync.SourceRef) uint64 {
	ref.Row = 0
	i, ok := d.sheets[ref]
	if !ok {
		i = uint64(len(d.sheetRefs))
		d.sheets[ref] = i
		d.sheetRefs = append(d.sheetRefs, ref)
	}
	return i
}

// keyID is the 128-bit FNV-1a hash of an event's key space and key. h is
// reused from row to row (flush runs on one goroutine).
func keyID(h hash.Hash, ev *crmsync.Event) [16]byte {
	h.Reset()
	h.Write([]byte(ev.Kind.KeySpace()))
	h.Write([]byte{0})
	h.Write([]byte(ev.Key))
	var id [16]byte
	h.Sum(id[:0])
	return id
}

// flush classifies the rows read so far and records those not to be sent.
func (d *differ) flush(ctx context.Context) error {
	if len(d.batch) == 0 {
		return nil
	}
	j := d.job
	results := make([]*crmsync.Result, len(d.batch))
	var lookup []*crmsync.Event
	var lookupIdx []int
	// Invalid rows whose key reads: settled if their fixed version was
	// delivered (fixIdx indexes d.batch).
	var fixLookup []*crmsync.Event
	var fixIdx []int
	for i, r := range d.batch {
		d.seq++
		res := &crmsync.Result{Seq: d.seq, Source: r.Source, Kind: r.Kind, Values: r.Values}
		results[i] = res
		if r.Event == nil {
			res.Outcome = crmsync.OutcomeInvalid
			if r.Problem != nil {
				res.Column, res.Reason = r.Problem.Column, r.Problem.Reason
			}
			if key, ok := importer.KeyOf(r); ok {
				res.Key = key
				fixLookup = append(fixLookup, &crmsync.Event{Kind: r.Kind, Key: key})
				fixIdx = append(fixIdx, i)
				continue
			}
			d.holdInvalid(r)
			continue
		}
		ev := r.Event
		res.Key, res.Lane, res.Time, res.Body, res.Hash = ev.Key, ev.Lane, ev.Time, ev.Body, ev.Hash
		if len(r.Warnings) > 0 {
			res.Reason = joinWarnings(r.Warnings)
		}
		if !ev.Time.IsZero() && ((!j.Since.IsZero() && ev.Time.Before(j.Since)) || (!j.Until.IsZero() && !ev.Time.Before(j.Until))) {
			res.Outcome = crmsync.OutcomeSkipped
			res.Reason = "事件时间不在 -since/-until 范围内 / event time outside -since/-until"
			continue
		}
		id := keyID(d.hash, ev)
		if at, dup := d.seen[id]; dup {
			first := d.sheetRefs[at>>32]
			first.Row = int(at & 0xffffffff)
			res.Outcome = crmsync.OutcomeDuplicate
			res.Reason = fmt.Sprintf("与 %s 的键重复,以第一行为准 / same key as %s; the first one wins", first, first)
			continue
		}
		d.seen[id] = d.sheetIndex(r.Source)<<32 | uint64(uint32(r.Source.Row))
		lookup = append(lookup, ev)
		lookupIdx = append(lookupIdx, i)
	}
	if len(lookup) > 0 {
		priors, err := j.Ledger.Lookup(ctx, lookup)
		if err != nil {
			return fmt.Errorf("look up %d events: %w", len(lookup), err)
		}
		for n, i := range lookupIdx {
			res := results[i]
			ev := lookup[n]
			if send := classify(res, ev, priors[n], j.safe); send {
				res.Outcome = crmsync.OutcomeNew
				d.queued++
			}
		}
	}
	if len(fixLookup) > 0 {
		priors, err := j.Ledger.Lookup(ctx, fixLookup)
		if err != nil {
			return fmt.Errorf("look up %d events: %w", len(fixLookup), err)
		}
		for n, i := range fixIdx {
			res := results[i]
			if priors[n].State != crmsync.StateSent {
				d.holdInvalid(d.batch[i])
				continue
			}
			problem := res.Reason
			if res.Column != "" {
				problem = res.Column + ": " + problem
			}
			res.Outcome, res.Column = crmsync.OutcomeUnchanged, ""
			res.Reason = fmt.Sprintf("此行有误(%s),但其修正后的版本(键 %s)已送达 / fixed: this row is invalid (%s), but its fixed version (key %s) was delivered", problem, res.Key, problem, res.Key)
		}
	}
	// Every row is recorded now; rows to send are recorded as new, which
	// puts them in the run's send queue in the ledger (Queued): a run of
	// millions of rows keeps none of them in memory.
	for _, res := range results {
		d.summary.Add(res.Kind, res.Outcome)
	}
	if err := j.Ledger.Record(ctx, d.runID, results); err != nil {
		return fmt.Errorf("record %d results: %w", len(results), err)
	}
	d.read += len(d.batch)
	if j.Progress != nil {
		j.Progress("read", d.read, max(j.Rows, d.read))
	}
	d.batch = d.batch[:0]
	return nil
}

func joinWarnings(ws []string) string {
	out := ""
	for i, w := range ws {
		if i > 0 {
			out += "; "
		}
		out += w
	}
	return out
}

// classify sets res's outcome from what the ledger knows of the event (the
// diff table of DESIGN.md) and reports whether the event is to be sent.
func classify(res *crmsync.Result, ev *crmsync.Event, p crmsync.Prior, safe func(crmsync.Kind) bool) (send bool) {
	switch p.State {
	case crmsync.StateNone:
		return true
	case crmsync.StateSent:
		if p.Hash == ev.Hash || sameContent(ev, p.Body) {
			res.Outcome = crmsync.OutcomeUnchanged
			return false
		}
		res.Outcome = crmsync.OutcomeChanged
		res.Previous = p.Body
		res.Reason = "已发送过内容不同的同键事件,未重发;请核对新旧内容后决定 / sent before with other content; not resent, compare old and new"
		return false
	case crmsync.StateFailed, crmsync.StateBlocked:
		return true
	case crmsync.StateRejected:
		if p.Hash != ev.Hash {
			return true // the fixed row
		}
		res.Outcome = crmsync.OutcomeRejected
		res.HasCode, res.Code, res.Message = p.HasCode, p.Code, p.Message
		res.Reason = "此前已被猫酷拒绝且内容未改,未重发;请修正后重新导入 / rejected before and unchanged; fix the row and import again"
		return false
	case crmsync.StateDismissed:
		if p.Hash != ev.Hash {
			return true // other content than the one dismissed
		}
		res.Outcome = crmsync.OutcomeSkipped
		res.Reason = "已由人工决定不发送(crmsync resolve -as dismiss) / dismissed by a person (crmsync resolve -as dismiss): not sent"
		return false
	case crmsync.StateInFlight, crmsync.StateUncertain:
		if safe(ev.Kind) && p.Hash == ev.Hash {
			return true
		}
		res.Outcome = crmsync.OutcomeUncertain
		res.Reason = "上次运行中断时此事件可能已发出,为避免重复已暂停;确认猫酷未收到后用 crmsync retry -uncertain 重发 / may have been delivered when a run died; held: check Mallcoo, then crmsync retry -uncertain"
		return false
	}
	return true
}

// sameContent reports whether prior, a body sent before, holds the same
// event content as ev although the content hashes differ: a body sent by an
// older crmsync before a value's form was made canonical (an over-limit
// Value "5,000" now sent as "5000", return fields on a sale now left out).
func sameContent(ev *crmsync.Event, prior []byte) bool {
	if len(prior) == 0 {
		return false
	}
	c, err := mallcoo.Canonical(ev.Kind, prior)
	return err == nil && crmsync.ContentHash(ev.Kind, c) == ev.Hash
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
		return fmt.Errorf("read held events: %w", err)
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
	sendCtx := context.WithoutCancel(ctx)
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

	type laneWork struct {
		rs         []*crmsync.Result
		preclaimed bool
	}
	work := make(chan laneWork, j.Concurrency)
	var wg sync.WaitGroup
	for w := 0; w < j.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lw := range work {
				sendLane(lw.rs, lw.preclaimed)
			}
		}()
	}
	// The queue comes back ordered by lane: gather lanes, and hand each to
	// a free worker. Events of kinds that are safe to resend (score,
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
				fatalOnce.Do(func() { fatal = fmt.Errorf("claim %d events: %w", len(safe), err) })
				stop("账本写入失败 / ledger write failed")
				return err
			}
		}
		for _, rs := range pending {
			work <- laneWork{rs, true}
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
	close(work)
	wg.Wait()
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
		return fmt.Errorf("read the send queue: %w", walkErr)
	}
	if why := isStopped(); why != "" {
		s.Stopped = why
		return fmt.Errorf("%w: %s", errStopped, why)
	}
	return ctx.Err()
}

// claimer batches concurrent claims into one durable ledger commit (group
// commit): a worker waits only for the commit that includes its event.
type claimer struct {
	ledger crmsync.Ledger
	runID  int64
	reqs   chan claimReq
	done   chan struct{}
}

type claimReq struct {
	ctx  context.Context
	ev   *crmsync.Event
	resp chan error
}

func newClaimer(l crmsync.Ledger, runID int64) *claimer {
	c := &claimer{ledger: l, runID: runID, reqs: make(chan claimReq, 256), done: make(chan struct{})}
	go c.loop()
	return c
}

func (c *claimer) loop() {
	defer close(c.done)
	for r := range c.reqs {
		batch := []claimReq{r}
	more:
		for len(batch) < 256 {
			select {
			case r2, ok := <-c.reqs:
				if !ok {
					break more
				}
				batch = append(batch, r2)
			default:
				break more
			}
		}
		evs := make([]*crmsync.Event, len(batch))
		for i, b := range batch {
			evs[i] = b.ev
		}
		err := c.ledger.Claim(batch[0].ctx, c.runID, evs)
		for _, b := range batch {
			b.resp <- err
		}
	}
}

func (c *claimer) claim(ctx context.Context, ev *crmsync.Event) error {
	resp := make(chan error, 1)
	c.reqs <- claimReq{ctx: ctx, ev: ev, resp: resp}
	return <-resp
}

// claimBatch claims evs in one durable commit, bypassing the group commit.
func (c *claimer) claimBatch(ctx context.Context, evs []*crmsync.Event) error {
	return c.ledger.Claim(ctx, c.runID, evs)
}

// maxHeldRejections bounds the rejections held back while they may be the
// setup's fault (above the client's default RejectStreak of 100).
const maxHeldRejections = 1000

// claimBatch is how many events of safe kinds are claimed at once ahead of
// their sends (and how many lanes wait to be handed out at most).
const claimBatch = 256

func (c *claimer) close() {
	close(c.reqs)
	<-c.done
}

// recorder writes results in batches in the background, so workers do not
// wait for the ledger after each answer.
type recorder struct {
	ledger crmsync.Ledger
	runID  int64
	mu     sync.Mutex
	buf    []*crmsync.Result
	kick   chan struct{}
	done   chan struct{}
	err    error
	lost   []*crmsync.Result // not recorded: in a failed batch, or added after it
}

func newRecorder(l crmsync.Ledger, runID int64) *recorder {
	r := &recorder{ledger: l, runID: runID, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go r.loop()
	return r
}

// add queues a result. The recorder commits whatever has queued in one
// transaction (group commit), at most recordEvery apart: an answer is on
// disk within about that, so a crash leaves few delivered events uncertain.
func (r *recorder) add(res *crmsync.Result) {
	r.mu.Lock()
	r.buf = append(r.buf, res)
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *recorder) loop() {
	defer close(r.done)
	var last time.Time
	for range r.kick {
		// Commit at most every recordEvery: bigger batches cost less per
		// row, and a crash leaves at most that much of answers unrecorded
		// (those events come back uncertain, never lost).
		if wait := recordEvery - time.Since(last); wait > 0 {
			time.Sleep(wait)
		}
		last = time.Now()
		r.flush()
	}
	r.flush()
}

// recordEvery is the longest a worker's answer waits to be committed.
const recordEvery = 20 * time.Millisecond

func (r *recorder) flush() {
	r.mu.Lock()
	buf, failed := r.buf, r.err != nil
	r.buf = nil
	r.mu.Unlock()
	if len(buf) == 0 {
		return
	}
	if failed {
		r.mu.Lock()
		r.lost = append(r.lost, buf...)
		r.mu.Unlock()
		return
	}
	// The run's ctx may be cancelled by now; results must still be written.
	if err := r.ledger.Record(context.Background(), r.runID, buf); err != nil {
		r.mu.Lock()
		r.err = fmt.Errorf("record %d results: %w", len(buf), err)
		r.lost = append(r.lost, buf...)
		r.mu.Unlock()
	}
}

// failed returns the error that stopped the recorder, if any.
func (r *recorder) failed() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *recorder) close(ctx context.Context) error {
	close(r.kick)
	<-r.done
	return r.failed()
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
			return fmt.Errorf("record %d results: %w", len(rs), err)
		}
	}
	if j.Sender == nil || len(rs) == 0 {
		return nil
	}
	return j.send(ctx, runID, len(rs), nil, s)
}
