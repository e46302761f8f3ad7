package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"

	"github.com/crmsync/crmsync"
)

// BacklogLedger is what the backlog needs of the ledger beyond
// crmsync.Ledger: the events in given states, in lane and time order.
type BacklogLedger interface {
	Held(ctx context.Context) ([]crmsync.Held, error)
	Events(ctx context.Context, states []crmsync.State, fn func(*crmsync.Event, crmsync.Prior) error) error
}

// HeldBack is a backlog event that cannot go now, and what holds it.
type HeldBack struct {
	Kind  crmsync.Kind
	Key   string
	State crmsync.State
	// By is the earlier event of its kind and lane that did not go through
	// and is not sent now, and ByState its state.
	By      string
	ByState crmsync.State
}

// Reason says why h is held, as a result keeps a reason
// (crmsync.Because): report.ReasonText renders it.
func (h HeldBack) Reason() string {
	return crmsync.Because(crmsync.ReasonHeldBehind, h.By, string(h.ByState))
}

// Sendable splits the ledger's events in states (lane and time order) into
// those that can be sent now and those held back: an event goes unless an
// earlier event of its kind and lane is held in the ledger (failed,
// uncertain, in flight, rejected, blocked) and does not go now itself.
// going, when set, names further keys (key space and key) that are sent in
// the same run (rows of its files).
func Sendable(ctx context.Context, l BacklogLedger, states []crmsync.State, going func(crmsync.Kind, string) bool) (send []*crmsync.Event, held []HeldBack, err error) {
	hs, err := l.Held(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("read held events: %w", err)
	}
	byLane := map[laneID][]crmsync.Held{}
	for _, h := range hs {
		k := laneID{h.Kind, h.Lane}
		byLane[k] = append(byLane[k], h)
	}
	type ek struct{ space, key string }
	var cands []*crmsync.Event
	candState := map[ek]crmsync.State{}
	err = l.Events(ctx, states, func(ev *crmsync.Event, p crmsync.Prior) error {
		cands = append(cands, ev)
		candState[ek{ev.Kind.KeySpace(), ev.Key}] = p.State
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	// Candidates go unless held back; one held back holds back the later
	// ones of its lane (candidates come in lane and time order).
	stuck := map[ek]bool{}
	for _, ev := range cands {
		me := ek{ev.Kind.KeySpace(), ev.Key}
		var by *crmsync.Held
		for i, h := range byLane[laneID{ev.Kind, ev.Lane}] {
			hk := ek{h.Kind.KeySpace(), h.Key}
			if hk == me || h.Time.After(ev.Time) {
				continue
			}
			_, cand := candState[hk]
			if cand && !stuck[hk] || going != nil && going(h.Kind, h.Key) {
				continue
			}
			by = &byLane[laneID{ev.Kind, ev.Lane}][i]
			break
		}
		if by != nil {
			stuck[me] = true
			held = append(held, HeldBack{Kind: ev.Kind, Key: ev.Key, State: candState[me], By: by.Key, ByState: by.State})
			continue
		}
		send = append(send, ev)
	}
	return slices.Clip(send), held, nil
}

// PlanLedger is what Apply needs of the ledger beyond crmsync.Ledger: a
// past run's results.
type PlanLedger interface {
	Results(ctx context.Context, runID int64, kind crmsync.Kind, fn func(*crmsync.Result) error) error
}

// Apply sends exactly the rows plan run planID found new, read from the
// ledger (no file is read again), as results of run runID. A row whose
// event the ledger now holds otherwise (delivered by another run since, or
// held) is not sent: it is recorded skipped, with the state it is in now.
func (j *Job) Apply(ctx context.Context, runID, planID int64, l PlanLedger, s *crmsync.Summary) error {
	if j.Concurrency <= 0 {
		j.Concurrency = 4
	}
	if j.Logger == nil {
		j.Logger = slog.New(slog.DiscardHandler)
	}
	var (
		batch   []*crmsync.Result
		seq     int64
		queued  int
		invalid []crmsync.Held // refused (refuseStored) events of lane-blocking kinds
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		evs := make([]*crmsync.Event, len(batch))
		for i, r := range batch {
			evs[i] = &crmsync.Event{Kind: r.Kind, Key: r.Key, Lane: r.Lane, Time: r.Time, Body: r.Body, Hash: r.Hash}
		}
		priors, err := j.Ledger.Lookup(ctx, evs)
		if err != nil {
			return fmt.Errorf("look up %d events: %w", len(evs), err)
		}
		for i, r := range batch {
			probe := *r
			if classify(&probe, evs[i], priors[i], j.ResendUncertainScores) {
				r.Outcome = crmsync.OutcomeNew
				if refuseStored(r) {
					if r.Kind.BlocksLane() {
						// Later events of its lane wait for it, as
						// for an invalid row of a run.
						invalid = append(invalid, crmsync.Held{Kind: r.Kind, Lane: r.Lane, Key: r.Key, Time: r.Time, State: crmsync.State(crmsync.OutcomeInvalid)})
					}
				} else {
					queued++
				}
			} else {
				r.Outcome = crmsync.OutcomeSkipped
				r.HasCode, r.Code, r.Message = priors[i].HasCode, priors[i].Code, priors[i].Message
				r.Reason = crmsync.Because(crmsync.ReasonPlanStale, strconv.FormatInt(planID, 10), string(priors[i].State))
			}
			s.Add(r.Kind, r.Outcome)
		}
		if err := j.Ledger.Record(ctx, runID, batch); err != nil {
			return fmt.Errorf("record %d results: %w", len(batch), err)
		}
		batch = batch[:0]
		return nil
	}
	err := l.Results(ctx, planID, "", func(r *crmsync.Result) error {
		if r.Outcome != crmsync.OutcomeNew || len(r.Body) == 0 {
			return nil
		}
		seq++
		c := *r
		c.Seq, c.Previous = seq, nil
		batch = append(batch, &c)
		if len(batch) >= 1000 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("read plan run %d: %w", planID, err)
	}
	if j.Sender == nil || queued == 0 {
		return nil
	}
	return j.send(ctx, runID, queued, invalid, s)
}
