package crmsync

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// SourceRef says where a row came from, as a person would find it: the file,
// the sheet (empty for CSV) and the 1-based row number in that file or sheet,
// counting the header row.
type SourceRef struct {
	File  string `json:"file"`
	Sheet string `json:"sheet,omitempty"`
	Row   int    `json:"row"`
}

func (r SourceRef) String() string {
	if r.Sheet != "" {
		return fmt.Sprintf("%s[%s]:%d", r.File, r.Sheet, r.Row)
	}
	return fmt.Sprintf("%s:%d", r.File, r.Row)
}

// Event is one CRM event ready to be sent: the body is marshalled once, and
// those exact bytes are hashed, stored in the ledger, signed and sent.
type Event struct {
	Kind Kind
	// Key is the event's identity within Kind.KeySpace(): the EventID column
	// when present, else the kind's natural key (see DESIGN.md).
	Key string
	// Lane groups events that must be sent one at a time in Time order
	// (a member's card ID, or a RefID).
	Lane string
	// Time is the event time (China Standard Time), used for ordering within
	// a lane and for -since/-until.
	Time time.Time
	// Body is the JSON request body exactly as it is sent.
	Body []byte
	// Hash identifies the content: see ContentHash.
	Hash string
}

// ContentHash returns the hex SHA-256 of an event's canonical body. Bodies are
// marshalled from typed values, so re-saving a file, reordering its columns
// or changing its date format does not change the hash.
// It runs for every input row: a body of usual size is hashed from a
// buffer on the stack, without allocating.
func ContentHash(kind Kind, body []byte) string {
	var sum [sha256.Size]byte
	if n := len(kind) + 1 + len(body); n <= 1024 {
		var buf [1024]byte
		b := append(append(append(buf[:0], kind...), 0), body...)
		sum = sha256.Sum256(b)
	} else {
		h := sha256.New()
		h.Write([]byte(kind))
		h.Write([]byte{0})
		h.Write(body)
		h.Sum(sum[:0])
	}
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
}

// Row is one input row after reading and validation. Exactly one of Event and
// Problem is set.
type Row struct {
	Source SourceRef
	Kind   Kind
	// Values holds the cell text of the row for each column of the kind's
	// import template (mallcoo.SpecOf(kind).Fields, in order), as read. The
	// report and the problems workbook show them.
	Values []string
	Event  *Event
	// Problem is the row's first problem; Problems holds every problem of
	// the row, one per column at most, Problem first.
	Problem  *Problem
	Problems []Problem
	Warnings []Problem
	// EventID is the row's EventID (事件ID) cell as read, when its file has
	// the column: an invalid row keeps it, so its fixed version (sent under
	// that key) settles it (importer.KeyOf).
	EventID string
}

// Result is the outcome of one input row in one run, as the ledger keeps it
// and the report shows it.
type Result struct {
	Seq     int64 // position of the row in the run's input, from 1
	Source  SourceRef
	Kind    Kind
	Key     string
	Lane    string
	Time    time.Time
	Values  []string
	Outcome Outcome
	Column  string // the column a problem is in, if any
	Reason  string // why the row has this outcome, for a person
	// Code and Message are Mallcoo's answer, verbatim; HasCode is false when
	// no answer was had.
	HasCode  bool
	Code     int
	Message  string
	Attempts int
	Body     []byte // the body sent or to be sent (nil for invalid rows)
	Hash     string
	Previous []byte // for changed rows: the body sent before
}

// Reply is Mallcoo's answer to one delivered request.
type Reply struct {
	Code     int
	Message  string
	Attempts int // HTTP requests made for this event, retries included
}

// OK reports whether Mallcoo accepted the event.
func (r Reply) OK() bool { return r.Code == 1 }
