package pipeline

import (
	"context"
	"fmt"
	"hash"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
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
	seen      *keySet
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
			d.holdInvalid(r)
			continue
		}
		ev := r.Event
		res.Key, res.Lane, res.Time, res.Body, res.Hash = ev.Key, ev.Lane, ev.Time, ev.Body, ev.Hash
		if len(r.Warnings) > 0 {
			res.Reason = joinWarnings(r.Warnings)
		}
		if (crmsync.Span{Since: j.Since, Until: j.Until}).Outside(ev.Time) {
			res.Outcome = crmsync.OutcomeSkipped
			res.Reason = crmsync.ReasonOutside
			continue
		}
		id := keyID(d.hash, ev)
		if at, dup := d.seen.get(id); dup {
			first := d.sheetRefs[at>>32]
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
			if priors[n].State != crmsync.StateSent {
				d.holdInvalid(r)
				continue
			}
			problem := ""
			if r.Problem != nil {
				problem = r.Problem.Reason
				if r.Problem.Column != "" {
					problem = r.Problem.Column + ": " + problem
				}
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
		return err
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
