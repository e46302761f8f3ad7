package crmsync

import (
	"testing"
	"time"
)

// TestDiff walks the diff table of DESIGN.md, one row a case.
func TestDiff(t *testing.T) {
	grade := &Event{Kind: KindGrade, Key: "G1", Hash: "h1"}
	score := &Event{Kind: KindScore, Key: "T1", Hash: "h1"}
	member := &Event{Kind: KindMember, Key: "M1", Hash: "h1"}
	legacy := func(*Event, []byte) bool { return true }
	for _, c := range []struct {
		name            string
		ev              *Event
		p               Prior
		resendUncertain bool
		same            func(*Event, []byte) bool
		want            Outcome
	}{
		{"key not in ledger", grade, Prior{}, false, nil, OutcomeNew},
		{"sent before, same hash", grade, Prior{State: StateSent, Hash: "h1"}, false, nil, OutcomeUnchanged},
		{"sent before, other hash", grade, Prior{State: StateSent, Hash: "h0"}, false, nil, OutcomeChanged},
		{"sent before by an older crmsync, same content", grade, Prior{State: StateSent, Hash: "h0", Body: []byte("{}")}, false, legacy, OutcomeUnchanged},
		{"failed before", grade, Prior{State: StateFailed, Hash: "h1"}, false, nil, OutcomeNew},
		{"rejected before, same hash", grade, Prior{State: StateRejected, Hash: "h1"}, false, nil, OutcomeRejected},
		{"rejected before, fixed row", grade, Prior{State: StateRejected, Hash: "h0"}, false, legacy, OutcomeNew},
		{"uncertain grade", grade, Prior{State: StateUncertain, Hash: "h1"}, true, nil, OutcomeUncertain},
		{"in flight member notice", member, Prior{State: StateInFlight, Hash: "h1"}, false, nil, OutcomeNew},
		{"uncertain score", score, Prior{State: StateUncertain, Hash: "h1"}, false, nil, OutcomeUncertain},
		{"uncertain score, TransID unique", score, Prior{State: StateUncertain, Hash: "h1"}, true, nil, OutcomeNew},
		{"uncertain score with other content", score, Prior{State: StateUncertain, Hash: "h0"}, true, nil, OutcomeUncertain},
	} {
		v := Diff(c.ev, c.p, c.resendUncertain, c.same)
		if v.Outcome != c.want {
			t.Errorf("%s: Diff(%s, %s) = %s, want %s", c.name, c.ev.Kind, c.p.State, v.Outcome, c.want)
		}
		if v.Send() != (c.want == OutcomeNew) {
			t.Errorf("%s: Diff().Send() = %v with outcome %s", c.name, v.Send(), v.Outcome)
		}
		if needs := c.want.NeedsPerson(); needs != (v.Reason != "") {
			t.Errorf("%s: Diff() reason %q for outcome %s", c.name, v.Reason, v.Outcome)
		}
	}
}

func TestSpanOutside(t *testing.T) {
	day := time.Date(2024, 11, 1, 0, 0, 0, 0, time.UTC)
	s := Span{Since: day, Until: day.AddDate(0, 0, 1)}
	for _, c := range []struct {
		t    time.Time
		want bool
	}{
		{time.Time{}, false},
		{day.Add(-time.Second), true},
		{day, false},
		{day.Add(23 * time.Hour), false},
		{day.AddDate(0, 0, 1), true},
	} {
		if got := s.Outside(c.t); got != c.want {
			t.Errorf("Span.Outside(%v) = %v, want %v", c.t, got, c.want)
		}
	}
	if (Span{}).Outside(day) {
		t.Errorf("Span{}.Outside(%v) = true, want false", day)
	}
}
