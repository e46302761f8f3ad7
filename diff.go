package crmsync

import (
	"fmt"
	"time"
)

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

// ReasonOutside is the reason of a row skipped for its event time.
const ReasonOutside = "事件时间不在 -since/-until 范围内 / event time outside -since/-until"

// DuplicateReason is the reason of a row whose key was met first at first:
// that row counts, this one does not.
func DuplicateReason(first SourceRef) string {
	return fmt.Sprintf("与 %s 的键重复,以第一行为准 / same key as %s; the first one wins", first, first)
}

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
		return Verdict{Outcome: OutcomeChanged, Reason: "已发送过内容不同的同键事件,未重发;请核对新旧内容后决定 / sent before with other content; not resent, compare old and new"}
	case StateRejected:
		if p.Hash != ev.Hash {
			return Verdict{Outcome: OutcomeNew} // the fixed row
		}
		return Verdict{Outcome: OutcomeRejected, Reason: "此前已被猫酷拒绝且内容未改,未重发;请修正后重新导入 / rejected before and unchanged; fix the row and import again"}
	case StateDismissed:
		if p.Hash != ev.Hash {
			return Verdict{Outcome: OutcomeNew} // other content than the one dismissed
		}
		return Verdict{Outcome: OutcomeSkipped, Reason: "已由人工决定不发送(crmsync resolve -as dismiss) / dismissed by a person (crmsync resolve -as dismiss): not sent"}
	case StateInFlight, StateUncertain:
		if ev.Kind.SafeToResendWith(resendUncertain) && p.Hash == ev.Hash {
			return Verdict{Outcome: OutcomeNew}
		}
		return Verdict{Outcome: OutcomeUncertain, Reason: "上次运行中断时此事件可能已发出,为避免重复已暂停;确认猫酷未收到后用 crmsync retry -uncertain 重发 / may have been delivered when a run died; held: check Mallcoo, then crmsync retry -uncertain"}
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
	problem := ""
	if r.Problem != nil {
		problem = r.Problem.Reason
		if r.Problem.Column != "" {
			problem = r.Problem.Column + ": " + problem
		}
	}
	return Verdict{Outcome: OutcomeUnchanged, Reason: fmt.Sprintf("此行有误(%s),但其修正后的版本(键 %s)已送达 / fixed: this row is invalid (%s), but its fixed version (key %s) was delivered", problem, key, problem, key)}, true
}

// Decided is the diff table's rule for a changed or invalid row that a
// person decided on (crmsync resolve), read again with the content decided
// on: it is not outstanding again. Dismissed, it is skipped; an invalid row
// decided delivered (Mallcoo has it) is unchanged. The reason says who
// decided, when and why.
func Decided(decision, user string, at time.Time, why string) Verdict {
	when := at.Format("2006-01-02 15:04")
	reason := fmt.Sprintf("已由 %s 于 %s 决定 %s / decided %s by %s at %s", user, when, decision, decision, user, when)
	if why != "" {
		reason += ": " + why
	}
	if decision == DecisionDelivered {
		return Verdict{Outcome: OutcomeUnchanged, Reason: reason}
	}
	return Verdict{Outcome: OutcomeSkipped, Reason: reason}
}
