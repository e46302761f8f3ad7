package pipeline

import (
	"context"
	"encoding/binary"
	"math/bits"
	"slices"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/internal/numbering"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/mallcoo"
)

// differ classifies rows in batches against the ledger.
type differ struct {
	ctx     context.Context
	job     *Job
	runID   int64
	summary *crmsync.Summary
	seq     int64
	batch   []*crmsync.Row
	// seen holds the keys met in this run's input (a 128-bit hash of each)
	// with where each was first met, packed as sheet index << 32 | row;
	// sheets numbers the (file, sheet) pairs. Beyond a few hundred
	// thousand keys it keeps them in temporary files (keySet).
	seen   *keySet
	sheets numbering.Of[crmsync.SourceRef, uint64]
	// invalid are this run's invalid rows of lane-blocking kinds whose
	// member is known: the member's later events of the kind wait for the
	// fixed row.
	invalid []crmsync.Held
	queued  int // rows recorded as new, to send
	read    int
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
// The row's result keeps the lane and time, so that later runs and retry
// hold them back too while the row is outstanding (ledger.Held).
func (d *differ) holdInvalid(r *crmsync.Row, res *crmsync.Result) {
	if !r.Kind.BlocksLane() {
		return
	}
	lane, at, ok := importer.LaneOf(r)
	if !ok {
		return
	}
	res.Lane, res.Time = lane, at
	h := crmsync.Held{Kind: r.Kind, Lane: lane, Key: r.Source.String(), State: "invalid", Time: at}
	d.invalid = append(d.invalid, h)
}

// sheetIndex numbers the (file, sheet) of ref.
func (d *differ) sheetIndex(ref crmsync.SourceRef) uint64 {
	ref.Row = 0
	return d.sheets.ID(ref)
}

// keyID is the 128-bit FNV-1a hash (hash/fnv's New128a, its Sum) of an
// event's key space, a zero byte and its key, computed here without a
// hash.Hash: through the interface every byte slice given to it escaped,
// three allocations a row.
func keyID(ev *crmsync.Event) [16]byte {
	h := fnv128{0x6c62272e07bb0142, 0x62b821756295c58d}
	h.add(ev.Kind.KeySpace())
	h.addByte(0)
	h.add(ev.Key)
	var id [16]byte
	binary.BigEndian.PutUint64(id[:8], h[0])
	binary.BigEndian.PutUint64(id[8:], h[1])
	return id
}

// fnv128 is an FNV-1a state of 128 bits, high word first.
type fnv128 [2]uint64

func (h *fnv128) addByte(c byte) {
	// h = (h ^ c) × (2^88 + 0x13b), modulo 2^128.
	h[1] ^= uint64(c)
	hi, lo := bits.Mul64(0x13b, h[1])
	hi += h[1]<<24 + 0x13b*h[0]
	h[0], h[1] = hi, lo
}

func (h *fnv128) add(s string) {
	for i := 0; i < len(s); i++ {
		h.addByte(s[i])
	}
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
				if len(r.Problems) > 0 {
					res.Reason = crmsync.EncodeProblems(r.Problems)
				}
			}
			if key, ok := importer.KeyOf(r); ok {
				res.Key = key
				fixLookup = append(fixLookup, &crmsync.Event{Kind: r.Kind, Key: key})
				fixIdx = append(fixIdx, i)
				continue
			}
			d.holdInvalid(r, res)
			continue
		}
		ev := r.Event
		res.Key, res.Lane, res.Time, res.Body, res.Hash = ev.Key, ev.Lane, ev.Time, ev.Body, ev.Hash
		if len(r.Warnings) > 0 {
			res.Reason = crmsync.EncodeProblems(r.Warnings)
		}
		if (crmsync.Span{Since: j.Since, Until: j.Until}).Outside(ev.Time) {
			res.Outcome = crmsync.OutcomeSkipped
			res.Reason = crmsync.OutsideReason()
			continue
		}
		id := keyID(ev)
		if at, dup := d.seen.get(id); dup {
			first := d.sheets.Value(at >> 32)
			first.Row = int(at & 0xffffffff)
			res.Outcome = crmsync.OutcomeDuplicate
			res.Reason = crmsync.DuplicateReason(first)
			continue
		}
		d.seen.put(id, d.sheetIndex(r.Source)<<32|uint64(uint32(r.Source.Row)))
		lookup = append(lookup, ev)
		lookupIdx = append(lookupIdx, i)
	}
	if d.seen.err != nil {
		return d.seen.err // a duplicate may have passed for a new row
	}
	if len(lookup) > 0 {
		priors, err := j.Ledger.Lookup(ctx, lookup)
		if err != nil {
			return err // the ledger's error names the operation, the count and the file
		}
		for n, i := range lookupIdx {
			res := results[i]
			ev := lookup[n]
			if send := classify(res, ev, priors[n], j.ResendUncertainScores); send {
				res.Outcome = crmsync.OutcomeNew
				d.queued++
			} else if priors[n].State == crmsync.StateDismissed {
				if err := d.dismissed(ctx, res); err != nil {
					return err
				}
			}
		}
	}
	if len(fixLookup) > 0 {
		priors, err := j.Ledger.Lookup(ctx, fixLookup)
		if err != nil {
			return err
		}
		for n, i := range fixIdx {
			res, r := results[i], d.batch[i]
			v, fixed := crmsync.Fixed(r, res.Key, priors[n])
			if !fixed {
				d.holdInvalid(r, res)
				continue
			}
			res.Outcome, res.Column, res.Reason = v.Outcome, "", v.Reason
		}
	}
	if err := d.decided(ctx, results); err != nil {
		return err
	}
	// Every row is recorded now; rows to send are recorded as new, which
	// puts them in the run's send queue in the ledger (Queued): a run of
	// millions of rows keeps none of them in memory.
	for _, res := range results {
		d.summary.Add(res.Kind, res.Outcome)
	}
	if err := j.Ledger.Record(ctx, d.runID, results); err != nil {
		return err
	}
	if j.Sender != nil && d.queued > 0 {
		j.Live.Drop() // the rows to send end otherwise
	} else {
		j.Live.Add(results)
	}
	d.read += len(d.batch)
	if j.Progress != nil {
		j.Progress("read", d.read, max(j.Rows, d.read))
	}
	d.batch = d.batch[:0]
	return nil
}

// decider is the ledger's memory of a person's decisions (ledger.Ledger).
type decider interface {
	Decided(ctx context.Context, rs []*crmsync.Result) ([]*ledger.Decision, error)
	LastDecision(ctx context.Context, kind crmsync.Kind, key string) (*ledger.Decision, error)
}

// dismissed gives res, a row of an event a person dismissed, the
// decision's who, when and why as its reason.
func (d *differ) dismissed(ctx context.Context, res *crmsync.Result) error {
	dl, ok := d.job.Ledger.(decider)
	if !ok {
		return nil
	}
	dec, err := dl.LastDecision(ctx, res.Kind, res.Key)
	if err != nil || dec == nil || dec.Decision != crmsync.DecisionDismiss {
		return err
	}
	res.Reason = crmsync.Decided(dec.Decision, dec.User, dec.At.In(mallcoo.CST), dec.Reason).Reason
	return nil
}

// decided settles the changed and invalid rows of results that a person
// decided on before with the same content (crmsync.Decided): they are not
// outstanding again, and a dismissed invalid row holds its member's lane no
// longer.
func (d *differ) decided(ctx context.Context, results []*crmsync.Result) error {
	dl, ok := d.job.Ledger.(decider)
	if !ok {
		return nil
	}
	some := false
	for _, res := range results {
		if res.Outcome == crmsync.OutcomeChanged || res.Outcome == crmsync.OutcomeInvalid {
			some = true
			break
		}
	}
	if !some {
		return nil
	}
	ds, err := dl.Decided(ctx, results)
	if err != nil {
		return err
	}
	var released map[string]bool
	for i, dec := range ds {
		if dec == nil {
			continue
		}
		res := results[i]
		if res.Outcome == crmsync.OutcomeInvalid {
			if released == nil {
				released = map[string]bool{}
			}
			released[res.Source.String()] = true
		}
		v := crmsync.Decided(dec.Decision, dec.User, dec.At.In(mallcoo.CST), dec.Reason)
		res.Outcome, res.Column, res.Reason = v.Outcome, "", v.Reason
	}
	if released != nil {
		d.invalid = slices.DeleteFunc(d.invalid, func(h crmsync.Held) bool { return released[h.Key] })
	}
	return nil
}

// classify sets res's outcome from what the ledger knows of the event (the
// diff table, crmsync.Diff) and reports whether the event is to be sent.
func classify(res *crmsync.Result, ev *crmsync.Event, p crmsync.Prior, resendUncertain bool) (send bool) {
	v := crmsync.Diff(ev, p, resendUncertain, sameContent)
	if v.Send() {
		return true
	}
	res.Outcome = v.Outcome
	if v.Reason != "" {
		res.Reason = v.Reason
	}
	switch v.Outcome {
	case crmsync.OutcomeChanged:
		res.Previous = p.Body
	case crmsync.OutcomeRejected:
		res.HasCode, res.Code, res.Message = p.HasCode, p.Code, p.Message
	}
	return false
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
