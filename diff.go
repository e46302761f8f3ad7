package crmsync

import "time"

// Decisions a person records on an outstanding item (crmsync resolve -as).
const (
	DecisionDelivered = "delivered"
	DecisionResend    = "resend"
	DecisionDismiss   = "dismiss"
)

// Span is an event-time window, [Since, Until): the -since/-until of a run
// or a reconciliation. A zero bound is open.
type Span struct {
	Since, Until time.Time
}

// Outside reports whether event time t is outside the window. An event
// without a time (over-limit, invalid) is never outside.
func (s Span) Outside(t time.Time) bool {
	if t.IsZero() {
		return false
	}
	return (!s.Since.IsZero() && t.Before(s.Since)) || (!s.Until.IsZero() && !t.Before(s.Until))
}

// OutsideReason is the reason of a row skipped for its event time.
func OutsideReason() string { return outsideReason }

// DuplicateReason is the reason of a row whose key was met first at first:
// that row counts, this one does not.
func DuplicateReason(first SourceRef) string { return Because(ReasonDuplicateKey, first.String()) }

// The reasons of the diff table's verdicts, made once.
var (
	outsideReason        = Because(ReasonOutsideWindow)
	sentOtherReason      = Because(ReasonSentOther)
	rejectedBeforeReason = Because(ReasonRejectedBefore)
	dismissedReason      = Because(ReasonDismissed)
	diedInFlightReason   = Because(ReasonDiedInFlight)
)

// Verdict is the diff table's answer for one event.
type Verdict struct {
	// Outcome is OutcomeNew for an event to send; otherwise what the row
	// ends as without sending (unchanged, changed, rejected, uncertain).
	Outcome Outcome
	Reason  string
}

// Send reports whether the event is to be sent.
func (v Verdict) Send() bool { return v.Outcome == OutcomeNew }

// Diff is the diff table of DESIGN.md: what becomes of event ev given p,
// what the ledger knows of its key. resendUncertain is the setting
// score_resend_uncertain (see Kind.SafeToResendWith). sameContent, when not
// nil, reports whether a body sent before holds ev's content although the
// content hashes differ (a body sent by an older crmsync before a value's
// form was made canonical); it is asked only of a sent event.
func Diff(ev *Event, p Prior, resendUncertain bool, sameContent func(ev *Event, prior []byte) bool) Verdict {
	switch p.State {
	case StateSent:
		if p.Hash == ev.Hash || sameContent != nil && sameContent(ev, p.Body) {
			return Verdict{Outcome: OutcomeUnchanged}
		}
		return Verdict{Outcome: OutcomeChanged, Reason: sentOtherReason}
	case StateRejected:
		if p.Hash != ev.Hash {
			return Verdict{Outcome: OutcomeNew} // the fixed row
		}
		return Verdict{Outcome: OutcomeRejected, Reason: rejectedBeforeReason}
	case StateDismissed:
		if p.Hash != ev.Hash {
			return Verdict{Outcome: OutcomeNew} // other content than the one dismissed
		}
		return Verdict{Outcome: OutcomeSkipped, Reason: dismissedReason}
	case StateInFlight, StateUncertain:
		if ev.Kind.SafeToResendWith(resendUncertain) && p.Hash == ev.Hash {
			return Verdict{Outcome: OutcomeNew}
		}
		return Verdict{Outcome: OutcomeUncertain, Reason: diedInFlightReason}
	}
	// Never seen, failed before, or blocked behind an event that has
	// since gone: send it.
	return Verdict{Outcome: OutcomeNew}
}

// Fixed is the diff table's rule for a row that fails validation but whose
// event key its cells give (importer.KeyOf): p is what the ledger knows of
// that key. Once the fixed version of the row (from the problems workbook,
// by its 事件ID or its natural key) was delivered under the key, the bad
// row is settled: a run counts it unchanged, a reconciliation matched, and
// neither calls it invalid. ok is false while it is not: the row stays
// invalid.
func Fixed(r *Row, key string, p Prior) (v Verdict, ok bool) {
	if p.State != StateSent {
		return Verdict{}, false
	}
	zh, en := "", ""
	if p := r.Problem; p != nil {
		zh, en = p.Text("zh"), p.Text("en")
		if p.Column != "" {
			zh, en = p.Column+": "+zh, p.Column+": "+en
		}
	}
	return Verdict{Outcome: OutcomeUnchanged, Reason: Because(ReasonFixedDelivered, zh, en, key)}, true
}

// Decided is the diff table's rule for a changed or invalid row that a
// person decided on (crmsync resolve), read again with the content decided
// on: it is not outstanding again. Dismissed, it is skipped; an invalid row
// decided delivered (Mallcoo has it) is unchanged. The reason says who
// decided, when and why.
func Decided(decision, user string, at time.Time, why string) Verdict {
	if why != "" {
		why = ": " + why
	}
	reason := Because(ReasonDecided, user, at.Format("2006-01-02 15:04"), decision, why)
	if decision == DecisionDelivered {
		return Verdict{Outcome: OutcomeUnchanged, Reason: reason}
	}
	return Verdict{Outcome: OutcomeSkipped, Reason: reason}
}
