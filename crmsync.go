// Package crmsync holds the shared vocabulary of crmsync: the kinds of CRM
// events, the events themselves, the outcome of every input row and the
// summary of a run. It does no I/O; the packages around it (importer, ledger,
// mallcoo, report) speak these types, and only cmd/crmsync wires them.
package crmsync

import (
	"fmt"
	"strings"
)

// Kind names one Mallcoo endpoint and the CRM events sent to it. The names
// are used on the command line, in sheet and file names and in the ledger.
type Kind string

// The eight kinds, one per endpoint.
const (
	KindMember    Kind = "member"
	KindGrade     Kind = "grade"
	KindScore     Kind = "score"
	KindScoreV2   Kind = "score-v2"
	KindOverLimit Kind = "over-limit"
	KindBonus     Kind = "bonus"
	KindVerify    Kind = "verify"
	KindInvalid   Kind = "invalid"
)

// Kinds lists every kind in the order reports and templates show them.
var Kinds = []Kind{KindMember, KindGrade, KindScore, KindScoreV2, KindOverLimit, KindBonus, KindVerify, KindInvalid}

// ParseKind returns the kind named s (case-insensitive, "_" accepted for "-").
func ParseKind(s string) (Kind, error) {
	n := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "_", "-")
	if n == "scorev2" {
		n = string(KindScoreV2)
	}
	if n == "overlimit" {
		n = string(KindOverLimit)
	}
	for _, k := range Kinds {
		if string(k) == n {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown kind %q (want one of %s)", s, KindList())
}

// KindList returns the kind names joined by ", ", for messages.
func KindList() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// KeySpace is the namespace of the kind's keys in the ledger. score and
// score-v2 share one: a TransID delivered by v1 is never sent again by v2.
func (k Kind) KeySpace() string {
	if k == KindScoreV2 {
		return string(KindScore)
	}
	return string(k)
}

// SafeToResend reports whether an event of this kind whose delivery is
// uncertain (in flight when a run died, or no answer to a request that may
// have arrived) may be sent again without a person deciding, on what is
// known of every Mallcoo: only member notices, which make Mallcoo pull the
// member again. Score events are safe only where the mall's Mallcoo is
// known to refuse or ignore a repeated TransID: see SafeToResendWith.
func (k Kind) SafeToResend() bool { return k.SafeToResendWith(false) }

// SafeToResendWith is SafeToResend with what the mall's Mallcoo contact
// said of a repeated TransID (setting score_resend_uncertain): when
// transIDUnique, score and score-v2 events are safe to resend too. The
// vendor only asks callers to keep TransID unique ("需保证唯一性"); nothing
// public says that Mallcoo refuses a repeat rather than counting the
// points twice.
func (k Kind) SafeToResendWith(transIDUnique bool) bool {
	return k == KindMember || transIDUnique && (k == KindScore || k == KindScoreV2)
}

// KeyedByTransID reports whether Mallcoo knows an event of this kind by
// its TransID (score, score-v2): a changed sale or return sent again under
// the same TransID is refused as a repeat, or counted twice — never taken
// as the correction.
func (k Kind) KeyedByTransID() bool { return k.KeySpace() == string(KindScore) }

// BlocksLane reports whether a failed event of this kind holds back the later
// events of the same lane in a run: grade changes and points balances
// (AfterBonus) must arrive in order.
func (k Kind) BlocksLane() bool {
	return k == KindGrade || k == KindBonus
}

// Outcome is what happened to one input row in one run.
type Outcome string

// Outcomes, as named in the -json summary, the report and the ledger.
const (
	OutcomeNew       Outcome = "new"       // plan: would be sent
	OutcomeSent      Outcome = "sent"      // Mallcoo answered Code 1
	OutcomeUnchanged Outcome = "unchanged" // sent before with the same content
	OutcomeChanged   Outcome = "changed"   // sent before with other content: a person decides
	OutcomeInvalid   Outcome = "invalid"   // failed validation
	OutcomeDuplicate Outcome = "duplicate" // its key appeared earlier in the same input
	OutcomeRejected  Outcome = "rejected"  // Mallcoo answered a business Code != 1
	OutcomeFailed    Outcome = "failed"    // transport trouble after retries; retried next run
	OutcomeUncertain Outcome = "uncertain" // in flight when a run died; held for a person
	OutcomeBlocked   Outcome = "blocked"   // an earlier event of its lane failed in this run
	OutcomeSkipped   Outcome = "skipped"   // outside -since/-until
)

// Outcomes lists every outcome in report order.
var Outcomes = []Outcome{
	OutcomeNew, OutcomeSent, OutcomeUnchanged, OutcomeChanged, OutcomeInvalid, OutcomeDuplicate,
	OutcomeRejected, OutcomeFailed, OutcomeUncertain, OutcomeBlocked, OutcomeSkipped,
}

// outcomeWords are the outcomes' words as people read them, Chinese and English.
var outcomeWords = map[Outcome][2]string{
	OutcomeNew:       {"待发送", "new"},
	OutcomeSent:      {"已发送", "sent"},
	OutcomeUnchanged: {"未变化", "unchanged"},
	OutcomeChanged:   {"内容已变", "changed"},
	OutcomeInvalid:   {"无效", "invalid"},
	OutcomeDuplicate: {"重复", "duplicate"},
	OutcomeRejected:  {"被拒绝", "rejected"},
	OutcomeFailed:    {"失败", "failed"},
	OutcomeUncertain: {"不确定", "uncertain"},
	OutcomeBlocked:   {"受阻", "blocked"},
	OutcomeSkipped:   {"跳过", "skipped"},
}

// English reports whether lang, a language as a person gives it (-lang,
// the config's lang: "en", "EN", "en-US"), asks for English; anything else
// is Chinese, the default.
func English(lang string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(lang)), "en")
}

// Word is the outcome as a person reads it in lang ("zh", the default, or
// "en"): 已发送 for sent. An outcome this version does not know is its name.
func (o Outcome) Word(lang string) string {
	w, ok := outcomeWords[o]
	switch {
	case !ok:
		return string(o)
	case English(lang):
		return w[1]
	}
	return w[0]
}

// NeedsPerson reports whether a row with this outcome needs someone to look
// at it: it goes to the problems workbook and makes the run exit 3.
func (o Outcome) NeedsPerson() bool {
	switch o {
	case OutcomeInvalid, OutcomeRejected, OutcomeFailed, OutcomeChanged, OutcomeUncertain, OutcomeBlocked, OutcomeDuplicate:
		return true
	}
	return false
}
