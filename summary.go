package crmsync

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Exit codes of the crmsync command (DESIGN.md). The JSON summary's counts
// and the report agree with them.
const (
	ExitOK          = 0   // every row ended well (sent, unchanged, new in a plan)
	ExitFailed      = 1   // the run failed: config, ledger or API unusable
	ExitUsage       = 2   // the command line is wrong
	ExitNeedsPerson = 3   // finished, but some rows or files need a person
	ExitInterrupted = 130 // interrupted; work done so far is recorded
)

// FileSummary describes one input file or sheet of a run.
type FileSummary struct {
	Path    string `json:"path"`
	Sheet   string `json:"sheet,omitempty"`
	Kind    Kind   `json:"kind,omitempty"`
	Rows    int    `json:"rows"`
	Problem Text   `json:"problem,omitzero"` // why the file could not be read, if so
	// Skipped says why a sheet was deliberately not read (an instructions
	// sheet, an empty sheet): listed so that no sheet goes unmentioned, but
	// not a problem.
	Skipped Text `json:"skipped,omitzero"`
	// Code names the kind of Problem for programs (the importer's Problem*
	// codes, e.g. "encoding", "csv-syntax", "empty"); "" when not set.
	Code string `json:"problem_code,omitempty"`
	// Unknown lists the header cells that match no field and no alias:
	// their columns are not read (Warnings says so, naming the nearest
	// field), and the problems workbook keeps them.
	Unknown  []string `json:"unknown_columns,omitempty"`
	Warnings []Text   `json:"warnings,omitempty"`
}

// Note is the text of the summary's problem column in language lang: the
// problem, else why the sheet was skipped, then any warnings.
func (f FileSummary) Note(lang string) string {
	n := f.Problem.In(lang)
	if n == "" {
		n = f.Skipped.In(lang)
	}
	for _, w := range f.Warnings {
		if n != "" {
			n += "; "
		}
		n += w.In(lang)
	}
	return n
}

// ExtraSep separates the header and the value of a cell in an unknown
// column, kept in Row.Values after the template fields.
const ExtraSep = "\x1f"

// Summary is the account of one run: what -json prints and the report's
// summary sheet shows.
type Summary struct {
	RunID     int64                    `json:"run_id"`
	Mall      string                   `json:"mall,omitempty"`   // the mall: the config's, else the one the ledger remembers
	Ledger    string                   `json:"ledger,omitempty"` // the ledger's path
	Command   string                   `json:"command"`
	Rows      int                      `json:"rows"`
	Counts    map[Outcome]int          `json:"counts"`
	ByKind    map[Kind]map[Outcome]int `json:"by_kind"`
	Report    string                   `json:"report"`
	Problems  string                   `json:"problems"`
	DurationS float64                  `json:"duration_s"`
	Started   time.Time                `json:"started"`
	Ended     time.Time                `json:"ended"`
	Files     []FileSummary            `json:"files"`
	Requests  int                      `json:"requests"`         // HTTP requests made, retries included
	Stopped   Text                     `json:"stopped,omitzero"` // why sending stopped early, if it did
	Interrupt bool                     `json:"interrupted,omitempty"`
	// AppliedBy is, for a plan whose report is written again (crmsync
	// report RUN-ID), the apply run that applied it (0: not applied).
	AppliedBy int64 `json:"applied_by,omitempty"`
	// Causes groups the rows that need a person by cause, most rows first
	// (the report fills it; at most MaxCauses).
	Causes []Cause `json:"causes,omitempty"`
}

// MaxCauses is how many causes a summary lists.
const MaxCauses = 50

// NewSummary returns an empty summary for a run.
func NewSummary(runID int64, command string, started time.Time) *Summary {
	return &Summary{
		RunID:   runID,
		Command: command,
		Started: started,
		Counts:  map[Outcome]int{},
		ByKind:  map[Kind]map[Outcome]int{},
	}
}

// Add counts one row of kind k with outcome o.
func (s *Summary) Add(k Kind, o Outcome) {
	s.Rows++
	s.Counts[o]++
	m := s.ByKind[k]
	if m == nil {
		m = map[Outcome]int{}
		s.ByKind[k] = m
	}
	m[o]++
}

// Move recounts one row of kind k from outcome from to outcome to, e.g. from
// new to sent once Mallcoo has answered.
func (s *Summary) Move(k Kind, from, to Outcome) {
	if from == to {
		return
	}
	s.Counts[from]--
	if s.Counts[from] == 0 {
		delete(s.Counts, from)
	}
	s.Counts[to]++
	m := s.ByKind[k]
	m[from]--
	if m[from] == 0 {
		delete(m, from)
	}
	m[to]++
}

// NeedsPerson reports whether any row or file of the run needs a person.
func (s *Summary) NeedsPerson() bool { return AnyNeedsPerson(s.Counts, s.Files) }

// AnyNeedsPerson reports whether counts (of outcomes, or of a
// reconciliation's categories) or files hold something a person must see:
// a count of what needs one that is not zero, or a file with a problem.
func AnyNeedsPerson[K interface {
	comparable
	NeedsPerson() bool
}](counts map[K]int, files []FileSummary) bool {
	for k, n := range counts {
		if n > 0 && k.NeedsPerson() {
			return true
		}
	}
	for _, f := range files {
		if !f.Problem.IsZero() {
			return true
		}
	}
	return false
}

// ExitCode is the exit code the run's rows call for: ExitNeedsPerson when any
// row or file needs a person, else ExitOK. Run-level failures and interrupts
// are decided by the caller.
func (s *Summary) ExitCode() int {
	if s.NeedsPerson() {
		return ExitNeedsPerson
	}
	return ExitOK
}

// Text is a message in both of crmsync's languages, shown in the run's
// (In). As text (the JSON summary, the ledger) it is "中文 / English", or
// the one text when both are the same (an error's own words).
type Text struct{ ZH, EN string }

// Say is the message of Chinese text zh and English text en.
func Say(zh, en string) Text { return Text{ZH: zh, EN: en} }

// In is the message in language lang ("zh" or "en").
func (t Text) In(lang string) string {
	if lang == "en" && t.EN != "" || t.ZH == "" {
		return t.EN
	}
	return t.ZH
}

// IsZero reports whether there is no message.
func (t Text) IsZero() bool { return t.ZH == "" && t.EN == "" }

func (t Text) String() string {
	if t.ZH == t.EN || t.EN == "" {
		return t.ZH
	}
	if t.ZH == "" {
		return t.EN
	}
	return t.ZH + " / " + t.EN
}

func (t Text) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads what MarshalText wrote: the two texts split at the
// first " / " outside brackets and quotes — a Chinese text may hold one in
// what it embeds, a count "(5 / 10 次)", a header "“金额 / Amount”" — else
// at the first " / ", or one text for both.
func (t *Text) UnmarshalText(b []byte) error {
	s := string(b)
	i := separator(s)
	if i < 0 {
		*t = Text{ZH: s, EN: s}
		return nil
	}
	*t = Text{ZH: s[:i], EN: s[i+len(" / "):]}
	return nil
}

// separator is the index in s of the " / " between a Text's languages:
// the first outside brackets and quotes, else the first; -1 when s has
// none.
func separator(s string) int {
	first, depth, quoted := -1, 0, false
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case strings.HasPrefix(s[i:], " / "):
			if depth == 0 && !quoted {
				return i
			}
			if first < 0 {
				first = i
			}
		case quoted && r == '\\':
			n++ // an escaped character of a quoted value (%q)
		case r == '"':
			quoted = !quoted
		case quoted:
		case strings.ContainsRune("([{（【「“", r):
			depth++
		case strings.ContainsRune(")]}）】」”", r):
			depth = max(depth-1, 0)
		}
		i += n
	}
	return first
}
