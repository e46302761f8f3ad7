package crmsync

import (
	"context"
	"time"
)

// Notice is what a notification says about a finished run. It holds only
// counts, causes, run IDs and paths, never a row's values: a chat group or
// a mailbox is no place for members' personal data, so there is no field a
// row's content could go into.
type Notice struct {
	Mall     string                   // the mall's name, as configured
	Command  string                   // run, retry, apply, … ("notify -test" for a test)
	RunID    int64                    // 0 when the run never began (e.g. the ledger was unusable)
	ExitCode int                      // ExitOK, ExitFailed, ExitNeedsPerson or ExitInterrupted
	Rows     int                      // input rows of the run
	Counts   map[Outcome]int          // rows by outcome
	ByKind   map[Kind]map[Outcome]int // rows by kind and outcome (the webhook's by_kind)
	Causes   []Cause                  // the top problem causes, most frequent first
	Report   string                   // path of the result report, "" when none
	Problems string                   // path of the problems workbook, "" when none
	Started  time.Time
	Duration time.Duration
	Lang     string // "zh" (the default) or "en"
	Test     bool   // a test message (crmsync notify -test), not a run
}

// Cause is one reason rows need a person, already rendered in the run's
// language from a reason code: its text (e.g. "手机号不是11位数字"), how many
// rows it holds and what to do about it. Text and Fix describe the reason,
// never a row: no member IDs, mobiles, names or amounts.
//
// The report groups a run's rows by cause: the same Code, Column and Value
// (e.g. 3,247 rows whose PayType is the unmapped word "微信"), with the one
// action that fixes them all. Value is never a member's card ID or mobile
// number: causes of those columns group without it.
type Cause struct {
	Text  string `json:"reason"`
	Count int    `json:"rows"`
	Fix   string `json:"hint"`
	// Code is the reason code (crmsync.Reason*) of an invalid row's
	// problem, else the outcome ("rejected", "failed", ...).
	Code    string  `json:"code,omitempty"`
	Outcome Outcome `json:"outcome,omitempty"`
	Kind    Kind    `json:"kind,omitempty"`
	Column  string  `json:"column,omitempty"`
	Value   string  `json:"value,omitempty"`
	// First is the first row with this cause.
	First *SourceRef `json:"first,omitempty"`
}

// Notifier sends a notice about a finished run to one destination (a chat
// robot, a webhook, a mailbox). Send retries transient failures itself and
// returns the last error once it gives up; the error never holds the
// destination's keys, secrets or passwords. It is safe for concurrent use.
type Notifier interface {
	Send(ctx context.Context, n Notice) error
}
