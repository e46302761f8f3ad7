package crmsync

import (
	"context"
	"errors"
	"time"
)

// State is what the ledger remembers of an event key.
type State string

// Ledger states of an event key.
const (
	StateNone      State = ""          // never seen
	StateInFlight  State = "inflight"  // claimed: its request may have left
	StateSent      State = "sent"      // Mallcoo answered Code 1
	StateRejected  State = "rejected"  // Mallcoo answered a business Code != 1
	StateFailed    State = "failed"    // no answer after retries; resend next run
	StateUncertain State = "uncertain" // was in flight when a run died
	StateBlocked   State = "blocked"   // held back by an earlier event of its kind and lane; sent once that clears
	StateDismissed State = "dismissed" // a person decided it is not to be sent (crmsync resolve -as dismiss)
)

// Prior is what the ledger knows of an event's key before a run decides
// what to do with it.
type Prior struct {
	State    State
	Kind     Kind   // the kind it was recorded under (score and score-v2 share keys)
	Hash     string // content hash of the body last claimed or sent
	Body     []byte // that body
	HasCode  bool
	Code     int
	Message  string
	Attempts int
}

// Ledger is the import job's view of the ledger. Implementations are safe
// for concurrent use.
type Ledger interface {
	// Lookup returns what the ledger knows of each event's key, in the
	// order of evs (one round trip per batch, not per event).
	Lookup(ctx context.Context, evs []*Event) ([]Prior, error)
	// Claim marks the events as in flight for the run. When it returns nil
	// the claims are durable: a crash after it leaves them uncertain, never
	// forgotten. No event may be sent before its claim returned.
	Claim(ctx context.Context, runID int64, evs []*Event) error
	// Release undoes the claims of events the run claimed but never sent
	// (claimed in a batch, then interrupted before their request left):
	// they are as if never claimed, not uncertain.
	Release(ctx context.Context, runID int64, evs []*Event) error
	// Record stores the per-row results of a run in one transaction. For
	// outcomes sent, rejected and failed it also settles the event's state,
	// hash, body, Code, Message and attempts. Recording a Seq again replaces
	// its outcome: rows to send are recorded as new first, which puts them
	// in the run's send queue, then again with their final outcome.
	Record(ctx context.Context, runID int64, rs []*Result) error
	// Held lists the events of lane-blocking kinds (grade, bonus) that did
	// not go through: failed, uncertain, in flight or rejected. Later events
	// of their kind and lane wait for them, whichever run they come in.
	Held(ctx context.Context) ([]Held, error)
	// Queued calls fn for each result of the run still to be sent (outcome
	// new, with a body), ordered by lane, event time and Seq, without
	// holding them all in memory. fn may call Claim and Record.
	Queued(ctx context.Context, runID int64, fn func(*Result) error) error
}

// Held is an event that holds back the later events of its kind and lane.
type Held struct {
	Kind  Kind
	Lane  string
	Key   string
	Time  time.Time
	State State
}

// Sender delivers one event body to Mallcoo.
type Sender interface {
	// Send posts body to kind's endpoint, retrying transient trouble. A nil
	// error means Mallcoo answered: Reply.OK tells accepted from rejected. A
	// non-nil error means no answer could be had; Reply.Attempts still counts
	// the requests made. An error wrapping ErrSystemic means the API is
	// unusable (e.g. credentials refused) and the run must stop sending.
	// Send is safe for concurrent use.
	Send(ctx context.Context, kind Kind, body []byte) (Reply, error)
}

// ErrMaybeDelivered marks a failure after the request may have reached
// Mallcoo (a timeout or a connection lost after the body was written): the
// event may have been applied, so kinds that are not safe to resend are held
// as uncertain instead of being retried.
var ErrMaybeDelivered = errors.New("request may have been delivered")

// ErrSystemic marks a failure that is not the event's fault and will hit
// every event: sending stops.
var ErrSystemic = errors.New("systemic failure")
