package crmsync

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Problem says why a row cannot be trusted, as data: the column (API field
// name, or empty for the row as a whole), a code naming the kind of
// problem (the Reason* constants), the cell text at fault, and the reason
// in each language. The text is chosen at the edge (report, problems
// workbook, terminal) in the run's language; programs and tests look at
// Code, Column and Value.
type Problem struct {
	Column string `json:"column,omitempty"`
	Code   string `json:"code,omitempty"`
	// Value is the cell text the problem is about ("微信" for an unmapped
	// PayType), cut short; "" when the problem is not about one value (a
	// required cell left empty, a missing column).
	Value string `json:"value,omitempty"`
	ZH    string `json:"zh,omitempty"`
	EN    string `json:"en,omitempty"`
	// Args are the parameters of a reason made by Because, whose texts are
	// its code's (reasonWords): a key, a state, an error.
	Args []string `json:"args,omitempty"`
	// Reason is the reason in both languages, "中文 / English" (empty for
	// a reason made by Because).
	Reason string `json:"reason,omitempty"`
}

// NewProblem returns the problem of a column: code, the value at fault and
// its reason in Chinese and English.
func NewProblem(column, code, value, zh, en string) Problem {
	return Problem{Column: column, Code: code, Value: value, ZH: zh, EN: en, Reason: zh + " / " + en}
}

func (p *Problem) Error() string {
	reason := p.Reason
	if reason == "" {
		reason = p.Text("zh") + " / " + p.Text("en")
	}
	if p.Column == "" {
		return reason
	}
	return p.Column + ": " + reason
}

// Text returns the reason in language lang ("zh" or "en"), without the
// column: its code's words over its Args for a reason made by Because; a
// problem with no text per language (a reason from an older ledger) gives
// its Reason as it is.
func (p *Problem) Text(lang string) string {
	switch {
	case p.ZH == "" && p.EN == "":
		if w, ok := reasonWords[p.Code]; ok && p.Reason == "" {
			return w.in(lang, p.Args)
		}
		return p.Reason
	case lang == "en" && p.EN != "":
		return p.EN
	case p.ZH != "":
		return p.ZH
	}
	return p.EN
}

// Reason codes of row problems. A code names what is wrong, whatever the
// column; Problem.Column says where.
const (
	ReasonRequired      = "required"       // a required cell is empty
	ReasonIDFormat      = "id-format"      // an ID cell mangled by Excel or holding characters no ID has
	ReasonIDTooLong     = "id-too-long"    // an ID longer than the field allows
	ReasonText          = "text"           // a free-text cell with control characters or broken text
	ReasonTextTooLong   = "text-too-long"  // a free-text cell longer than the field allows
	ReasonAmount        = "amount"         // not an amount
	ReasonAmountCents   = "amount-cents"   // money with more than two decimal places
	ReasonDateTime      = "datetime"       // not a date and time
	ReasonDateOnly      = "date-only"      // a date without a time (strict_datetime)
	ReasonNotAllowed    = "enum-value"     // not one of a closed field's values
	ReasonUnmapped      = "enum-unmapped"  // a word that is no code and has no mapping in the config
	ReasonNotInteger    = "not-integer"    // not an integer
	ReasonMobile        = "mobile"         // not a mainland mobile number
	ReasonCardOrMobile  = "card-or-mobile" // neither card ID nor mobile
	ReasonBusinessDate  = "business-date"  // the BusinessDate cell is no date
	ReasonRule          = "rule"           // a rule across fields (a return's fields, the sign of Score)
	ReasonDamaged       = "damaged"        // the replacement character of a wrong encoding
	ReasonFormula       = "formula"        // an XLSX formula cell whose value was never computed
	ReasonExtraCells    = "extra-cells"    // a CSV row with more cells than its header: an unquoted comma shifted its cells
	ReasonList          = "list"           // a list cell (score-v2) is no JSON array, or its list sheet has a problem
	ReasonBuild         = "build"          // the request could not be made
	ReasonStoredBody    = "stored-body"    // a body the ledger kept (retry, apply) breaks a rule of today's crmsync: not sent
	ReasonUnknownColumn = "unknown-column" // a header that matches no field (a warning)
)

// Reason codes of outcomes other than invalid: why a row was not sent, or
// not sent again. Because makes their reasons; reasonWords holds their
// texts.
const (
	ReasonDuplicateKey    = "duplicate-key"      // the key met before in the run's input (args: where)
	ReasonOutsideWindow   = "outside-window"     // event time outside -since/-until
	ReasonSentOther       = "sent-other-content" // sent before with other content: changed
	ReasonRejectedBefore  = "rejected-before"    // rejected before, content unchanged
	ReasonDismissed       = "dismissed"          // a person dismissed it (resolve -as dismiss)
	ReasonDiedInFlight    = "died-in-flight"     // in flight when a run died: held as uncertain
	ReasonFixedDelivered  = "fixed-delivered"    // invalid, but its fixed version was delivered (args: problem zh, en, key)
	ReasonDecided         = "decided"            // a person decided (args: user, when, decision, ": why" or "")
	ReasonNotSent         = "not-sent"           // claimed or queued, not sent: sending stopped (args: why zh, en)
	ReasonNoAnswer        = "no-answer"          // may have been delivered: no answer (args: error)
	ReasonNotDelivered    = "not-delivered"      // not delivered, retried next run (args: error, or why zh, en: the client stopped)
	ReasonRejected        = "rejected"           // rejected by Mallcoo (its Code and Message beside)
	ReasonRejectedStopped = "rejected-stopped"   // rejected, but sending stopped for a common cause (args: code, why zh, en)
	ReasonHeldOrder       = "held-order"         // an earlier event of the lane is outstanding (args: key, state)
	ReasonEarlierFailed   = "earlier-failed"     // an earlier event of the lane failed in this run (args: key)
	ReasonClaimed         = "claimed"            // in flight: claimed by a run (args: run)
	ReasonClaimReleased   = "claim-released"     // claimed, not sent: interrupted
	ReasonRejectedFix     = "rejected-fix"       // rejected by Mallcoo: fix the row
	ReasonHeldEarlier     = "held-earlier"       // blocked behind an earlier event of its member
	ReasonHeldBehind      = "held-behind"        // retry: held behind an outstanding earlier event (args: key, state)
	ReasonPlanStale       = "plan-stale"         // the ledger's state changed since the plan (args: plan run, state)
	ReasonNeverSent       = "never-sent"         // reconcile: not in the ledger
	ReasonLedgerOther     = "ledger-other"       // reconcile: sent with other content than the file's
	ReasonLedgerFailed    = "ledger-failed"      // reconcile: failed, not delivered
	ReasonLedgerRejected  = "ledger-rejected"    // reconcile: rejected by Mallcoo
	ReasonLedgerUncertain = "ledger-uncertain"   // reconcile: uncertain
	ReasonLedgerInFlight  = "ledger-in-flight"   // reconcile: in flight
	ReasonLedgerState     = "ledger-state"       // reconcile: another state (args: state)
	ReasonLedgerHolds     = "ledger-holds-other" // reconcile: and the ledger holds other content
	ReasonNoFileRow       = "no-file-row"        // reconcile: sent, no file row has its key
)

// Because returns the reason a result keeps for an outcome other than
// invalid: its code and parameters, as data (EncodeProblems), rendered in
// the run's language at the edge (Problem.Text). A reason of several
// causes is EncodeProblems of several.
func Because(code string, args ...string) string {
	return EncodeProblems([]Problem{BecauseOf(code, args...)})
}

// BecauseOf is the problem Because encodes.
func BecauseOf(code string, args ...string) Problem { return Problem{Code: code, Args: args} }

// words are a reason's texts, Chinese and English: fmt formats over its
// Args (%[1]s, …).
type words struct{ zh, en string }

// in renders the words in lang over args. A pair of texts that ends the
// args (why in Chinese, in English) may be given once when both are the
// same (an error's own words): the missing ones are the last given.
func (w words) in(lang string, args []string) string {
	f := w.zh
	if lang == "en" {
		f = w.en
	}
	if !strings.Contains(f, "%") {
		return f
	}
	a := make([]any, max(len(args), 4))
	for i := range a {
		if i < len(args) {
			a[i] = args[i]
		} else if len(args) > 0 {
			a[i] = args[len(args)-1]
		}
	}
	return fmt.Sprintf(f, a...)
}

// ReasonCode is the code of r's first reason (a Reason* constant); "" when
// it has none, or a reason of an older crmsync.
func (r *Result) ReasonCode() string {
	if ps := r.Problems(); len(ps) > 0 {
		return ps[0].Code
	}
	return ""
}

var reasonWords = map[string]words{
	ReasonDuplicateKey:    {"与 %[1]s 的键重复,以第一行为准", "same key as %[1]s; the first one wins"},
	ReasonOutsideWindow:   {"事件时间不在 -since/-until 范围内", "event time outside -since/-until"},
	ReasonSentOther:       {"已发送过内容不同的同键事件,未重发;请核对新旧内容后决定", "sent before with other content; not resent, compare old and new"},
	ReasonRejectedBefore:  {"此前已被猫酷拒绝且内容未改,未重发;请修正后重新导入", "rejected before and unchanged; fix the row and import again"},
	ReasonDismissed:       {"已由人工决定不发送(crmsync resolve -as dismiss)", "dismissed by a person (crmsync resolve -as dismiss): not sent"},
	ReasonDiedInFlight:    {"上次运行中断时此事件可能已发出,为避免重复已暂停;确认猫酷未收到后用 crmsync retry -uncertain 重发", "may have been delivered when a run died; held: check Mallcoo, then crmsync retry -uncertain"},
	ReasonFixedDelivered:  {"此行有误(%[1]s),但其修正后的版本(键 %[3]s)已送达", "fixed: this row is invalid (%[2]s), but its fixed version (key %[3]s) was delivered"},
	ReasonDecided:         {"已由 %[1]s 于 %[2]s 决定 %[3]s%[4]s", "decided %[3]s by %[1]s at %[2]s%[4]s"},
	ReasonNotSent:         {"未发送:%[1]s", "not sent: %[2]s"},
	ReasonNoAnswer:        {"请求可能已送达但未收到应答,为避免重复已暂停;确认后用 crmsync retry -uncertain 重发:%[1]s", "may have been delivered (no answer); held: check Mallcoo, then crmsync retry -uncertain: %[1]s"},
	ReasonNotDelivered:    {"发送失败,下次运行将重试:%[1]s", "not delivered, retried next run: %[2]s"},
	ReasonRejected:        {"猫酷拒绝", "rejected by Mallcoo"},
	ReasonRejectedStopped: {"猫酷拒绝(Code %[1]s),但发送因整体问题停止(%[2]s),像是配置问题而非此行;修正后重新运行会重发", "rejected with Code %[1]s, but sending stopped for a cause common to all rows (%[3]s): the setup, not this row, looks wrong; sent again once fixed"},
	ReasonHeldOrder:       {"同一会员更早的同类事件 %[1]s 状态为%[2]s,为保证顺序未发送;处理该事件后重新运行", "an earlier event of this member (%[1]s) is %[2]s; not sent, to keep the order: resolve it, then run again"},
	ReasonClaimed:         {"由运行 %[1]s 认领,请求可能正在发送", "claimed by run %[1]s: its request may be under way"},
	ReasonClaimReleased:   {"已认领但因中断未发送,下次运行或 crmsync retry 会发送", "claimed but not sent (interrupted): the next run or crmsync retry sends it"},
	ReasonRejectedFix:     {"被猫酷拒绝;请修正后重新导入", "rejected by Mallcoo: fix the row and import it again"},
	ReasonHeldEarlier:     {"同一会员更早的同类事件未成功,为保证顺序暂缓", "held back by an earlier event of its member"},
	ReasonHeldBehind:      {"同一会员更早的同类事件 %[1]s 状态为%[2]s,处理该事件后才会发送", "held behind an earlier event of its member, %[1]s (%[2]s): it goes once that is delivered or resolved"},
	ReasonEarlierFailed:   {"同一会员的前序事件 %[1]s 未成功,为保证顺序未发送", "an earlier event of this member (%[1]s) did not go through; held to keep the order"},
	ReasonPlanStale:       {"自计划运行 %[1]s 以来账本状态已变(现为 %[2]s),未发送", "the ledger's state changed since plan run %[1]s (now %[2]s): not sent"},
	ReasonNeverSent:       {"账本中没有此键,从未发送", "not in the ledger: never sent"},
	ReasonLedgerOther:     {"已发送的内容与文件不同", "sent with other content than the file's"},
	ReasonLedgerFailed:    {"发送失败,未送达;crmsync retry 或再次运行会重发", "failed: no answer from Mallcoo; crmsync retry (or the next run) resends it"},
	ReasonLedgerRejected:  {"被猫酷拒绝", "rejected by Mallcoo"},
	ReasonLedgerUncertain: {"运行中断时可能已发出,状态不确定;请在猫酷核实", "uncertain: may have been delivered when a run died; check in Mallcoo"},
	ReasonLedgerInFlight:  {"正在发送中(另一个运行正在进行或已中断)", "in flight: a run is sending it, or died"},
	ReasonLedgerState:     {"账本状态 %[1]s", "ledger state %[1]s"},
	ReasonLedgerHolds:     {"账本中的内容与文件不同", "the ledger holds other content"},
	ReasonNoFileRow:       {"已发送到猫酷,但文件中没有此键", "sent to Mallcoo, but no file row has this key"},
}

// problemsPrefix marks a result's Reason that holds its problems as JSON
// (EncodeProblems): the ledger keeps the reason text as it is given, so a
// run's problems can be rendered again, in either language, from it.
const problemsPrefix = "crmsync-problems:"

// EncodeProblems returns the text a result keeps as its Reason for an
// invalid row's problems: every problem with its code, value and texts.
// A problem's Reason that is its texts joined (NewProblem) is left out,
// and made again when read (decodeProblems): the ledger keeps the reason
// of every row, and of a warned row sent, twice.
func EncodeProblems(ps []Problem) string {
	if len(ps) == 0 {
		return ""
	}
	kept := ps
	for i, p := range ps {
		if p.Reason != "" && p.Reason == p.joined() {
			if &kept[0] == &ps[0] {
				kept = slices.Clone(ps)
			}
			kept[i].Reason = ""
		}
	}
	b, err := json.Marshal(kept)
	if err != nil {
		return ps[0].Reason
	}
	return problemsPrefix + string(b)
}

// joined is p's texts as its Reason holds them, "中文 / English"; "" when
// it has none.
func (p *Problem) joined() string {
	if p.ZH == "" && p.EN == "" {
		return ""
	}
	return p.ZH + " / " + p.EN
}

// decodeProblems reads the problems EncodeProblems wrote (after its
// prefix), each Reason as it was given.
func decodeProblems(s string) ([]Problem, error) {
	var ps []Problem
	if err := json.Unmarshal([]byte(s), &ps); err != nil {
		return nil, err
	}
	for i := range ps {
		if ps[i].Reason == "" {
			ps[i].Reason = ps[i].joined()
		}
	}
	return ps, nil
}

// HasProblems reports whether a result's reason holds problems as
// EncodeProblems writes them.
func HasProblems(reason string) bool { return strings.HasPrefix(reason, problemsPrefix) }

// ProblemsIn returns the problems encoded in a reason (EncodeProblems),
// also after a "Column: " prefix as the backlog keeps them; false when it
// holds none.
func ProblemsIn(reason string) ([]Problem, bool) {
	i := strings.Index(reason, problemsPrefix)
	if i < 0 {
		return nil, false
	}
	ps, err := decodeProblems(reason[i+len(problemsPrefix):])
	if err != nil || len(ps) == 0 {
		return nil, false
	}
	return ps, true
}

// Problems returns the problems of a result: those EncodeProblems put in
// its Reason, else (a reason from an older ledger, or of an outcome other
// than invalid) one problem of its Column and Reason, with no code; none
// when the reason is empty.
func (r *Result) Problems() []Problem {
	if rest, ok := strings.CutPrefix(r.Reason, problemsPrefix); ok {
		if ps, err := decodeProblems(rest); err == nil {
			return ps
		}
	}
	if r.Reason == "" {
		return nil
	}
	return []Problem{{Column: r.Column, Reason: r.Reason}}
}
