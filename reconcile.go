package crmsync

import "time"

// Category is where a reconciliation puts a file row or a ledger event.
type Category string

// Categories of a reconciliation (crmsync reconcile).
const (
	// CategoryMatched: the ledger has the key sent (Code 1) with the same content.
	CategoryMatched Category = "matched"
	// CategoryMismatched: the key was sent, but with other content than the file's.
	CategoryMismatched Category = "mismatched"
	// CategoryMissing: the key is in the files but was never successfully sent;
	// ReconcileEntry.State says what the ledger knows (StateNone: never seen).
	CategoryMissing Category = "missing"
	// CategoryOrphan: the ledger has the key sent, of a kind and in the event-date
	// window the files cover, but no file row has the key.
	CategoryOrphan Category = "orphan"
	// CategoryInvalid: the row fails validation, or repeats a key met earlier in
	// the files (ReconcileEntry.Duplicate).
	CategoryInvalid Category = "invalid"
	// CategorySkipped: the row's event time is outside -since/-until; it is not
	// compared.
	CategorySkipped Category = "skipped"
)

// NeedsPerson reports whether an entry of the category keeps a
// reconciliation from tying out.
func (c Category) NeedsPerson() bool {
	return c == CategoryMismatched || c == CategoryMissing || c == CategoryOrphan || c == CategoryInvalid
}

// ReconcileEntry is one line of a reconciliation: a file row (every category but
// CategoryOrphan) or a ledger event no file row has (CategoryOrphan).
type ReconcileEntry struct {
	Category Category
	Kind     Kind // the file row's kind; for an orphan, the ledger's
	Key      string
	Source   SourceRef // zero for an orphan
	Values   []string  // the row's cells, as read
	Time     time.Time // the file row's event time
	Body     []byte    // the file row's body (nil for invalid rows and orphans)
	// State is what the ledger knows of the key: StateNone when never seen.
	State State
	// LedgerKind, LedgerTime and LedgerBody are the ledger's event: the
	// body last claimed or delivered (nil when the key was never seen).
	LedgerKind Kind
	LedgerTime time.Time
	LedgerBody []byte
	HasCode    bool
	Code       int
	Message    string
	// Column and Reason say why a row is invalid (or missing, for a
	// person).
	Column string
	Reason string
	// Duplicate marks an invalid row whose key was met earlier in the
	// files (the first one wins: it is compared, this one is not). First is where.
	Duplicate bool
	First     SourceRef
	// Fixed marks a matched row that fails validation but whose fixed
	// version was delivered under its key (crmsync.Fixed): Time and Body
	// are the delivered version's, Column is empty and Reason says so.
	Fixed bool
}

// Window is the event-time window reconciled for one kind: [Since, Until).
type Window struct {
	Kind  Kind
	Since time.Time
	Until time.Time
}
