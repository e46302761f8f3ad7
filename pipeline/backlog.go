package pipeline

import (
	"context"
	"fmt"
	"slices"

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

// Reason says why h is held, for a person.
func (h HeldBack) Reason() string {
	return fmt.Sprintf("同一会员更早的同类事件 %s 状态为%s,处理该事件后才会发送 / held behind an earlier event of its member, %s (%s): it goes once that is delivered or resolved", h.By, h.ByState, h.By, h.ByState)
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
