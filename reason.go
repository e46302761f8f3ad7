package crmsync

import (
	"encoding/json"
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
	// Reason is the reason in both languages, "中文 / English".
	Reason string `json:"reason"`
}

// NewProblem returns the problem of a column: code, the value at fault and
// its reason in Chinese and English.
func NewProblem(column, code, value, zh, en string) Problem {
	return Problem{Column: column, Code: code, Value: value, ZH: zh, EN: en, Reason: zh + " / " + en}
}

func (p *Problem) Error() string {
	if p.Column == "" {
		return p.Reason
	}
	return p.Column + ": " + p.Reason
}

// Text returns the reason in language lang ("zh" or "en"), without the
// column; a problem with no text per language (a reason from an older
// ledger, or one of the send stage) gives its Reason as it is.
func (p *Problem) Text(lang string) string {
	switch {
	case p.ZH == "" && p.EN == "":
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

// problemsPrefix marks a result's Reason that holds its problems as JSON
// (EncodeProblems): the ledger keeps the reason text as it is given, so a
// run's problems can be rendered again, in either language, from it.
const problemsPrefix = "crmsync-problems:"

// EncodeProblems returns the text a result keeps as its Reason for an
// invalid row's problems: every problem with its code, value and texts.
func EncodeProblems(ps []Problem) string {
	if len(ps) == 0 {
		return ""
	}
	b, err := json.Marshal(ps)
	if err != nil {
		return ps[0].Reason
	}
	return problemsPrefix + string(b)
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
	var ps []Problem
	if err := json.Unmarshal([]byte(reason[i+len(problemsPrefix):]), &ps); err != nil || len(ps) == 0 {
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
		var ps []Problem
		if err := json.Unmarshal([]byte(rest), &ps); err == nil {
			return ps
		}
	}
	if r.Reason == "" {
		return nil
	}
	return []Problem{{Column: r.Column, Reason: r.Reason}}
}
