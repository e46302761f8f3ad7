package ledger

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/crmsync/crmsync"
)

// ReasonInFlightDied is the reason of an event that was in flight when its
// run ended without an answer recorded (BeginRun makes it uncertain).
var ReasonInFlightDied = crmsync.Because(crmsync.ReasonDiedInFlight)

// backlogStates are the event states that are outstanding: the event still
// waits for a retry or a person.
var backlogStates = []crmsync.State{
	crmsync.StateFailed, crmsync.StateUncertain, crmsync.StateBlocked, crmsync.StateRejected, crmsync.StateInFlight,
}

// refusedBody is the condition on an event e that its body, kept in the
// ledger, was refused by retry, apply or a run's backlog (reason
// stored-body): an invalid row of its own in open_rows, keyed by the event.
// The backlog lists it once, as that invalid row (what to do: fix the row,
// or resolve -as dismiss), not also in the state it keeps (failed) with
// its old reason.
const refusedBody = `EXISTS (SELECT 1 FROM open_rows o WHERE o.kind = e.kind AND o.key = e.key AND o.state = 'invalid' AND o.event = e.key)`

// backlogArgs are backlogStates as the arguments of an IN (?,?,?,?,?).
func backlogArgs() []any {
	args := make([]any, len(backlogStates), len(backlogStates)+2)
	for i, s := range backlogStates {
		args[i] = string(s)
	}
	return args
}

// resultNeeded is the condition on a row of results that the backlog still
// needs it: an open row of its own, or its event outstanding (a score-v2
// result's event is in score's key space). Its arguments are
// resultNeededArgs().
const resultNeeded = `(EXISTS (SELECT 1 FROM open_rows o WHERE o.run_id = results.run_id AND o.seq = results.seq)
	OR ` + eventOutstanding + `)`

// eventOutstanding is the condition on a row of results that its event is
// outstanding; its arguments are resultNeededArgs(). A row whose key is
// empty names its event in its cells' head (schema 10).
const eventOutstanding = `EXISTS (SELECT 1 FROM events e WHERE e.keyspace = (CASE results.kind WHEN ? THEN ? ELSE results.kind END)
		AND e.key = (CASE results.key WHEN '' THEN crmsync_head_key((SELECT vals FROM cells WHERE id = results.cells_id)) ELSE results.key END)
		AND e.state IN (?,?,?,?,?))`

func resultNeededArgs() []any {
	return append([]any{string(crmsync.KindScoreV2), string(crmsync.KindScore)}, backlogArgs()...)
}

// Outstanding is the ledger's backlog: everything that still waits for a
// retry or a person (failed, uncertain, blocked, rejected, in flight
// events; changed and invalid rows), read from the ledger alone.
type Outstanding struct {
	Total int `json:"total"`
	// ByState counts the items by state (an event state, or changed and
	// invalid for rows).
	ByState map[string]int `json:"by_state"`
	// ByKind counts them by kind and state.
	ByKind map[crmsync.Kind]map[string]int `json:"by_kind"`
	// Items are the oldest items, at most the number asked for.
	Items []OutstandingItem `json:"items"`
}

// OutstandingItem is one thing waiting for a retry or a person. Key is the
// event key, or for an invalid row its source row (file[sheet]:row).
type OutstandingItem struct {
	Kind   crmsync.Kind `json:"kind"`
	Key    string       `json:"key"`
	State  string       `json:"state"`
	Reason string       `json:"reason"`
	// Problems are an invalid row's problems (column, code, value), when
	// its reason holds them (crmsync.EncodeProblems): the reason's data.
	Problems []crmsync.Problem `json:"problems,omitempty"`
	Since    time.Time         `json:"since"` // when it became outstanding: a later run meeting it again keeps it
	Run      int64             `json:"run"`   // the last run that touched it
}

// Outstanding returns the backlog's counts and its oldest items (at most
// limit; none when limit is 0).
func (l *Ledger) Outstanding(ctx context.Context, limit int) (*Outstanding, error) {
	o, err := l.outstanding(ctx, limit)
	if err != nil {
		return nil, fmt.Errorf("outstanding backlog of ledger %s: %w", l.path, err)
	}
	return o, nil
}

func (l *Ledger) outstanding(ctx context.Context, limit int) (*Outstanding, error) {
	o := &Outstanding{ByState: map[string]int{}, ByKind: map[crmsync.Kind]map[string]int{}, Items: []OutstandingItem{}}
	states := backlogArgs()
	const in = `(?,?,?,?,?)`
	err := l.eachCount(ctx, `SELECT state, kind, count(*) FROM events e WHERE state IN `+in+` AND state <> 'sent' AND NOT `+refusedBody+` GROUP BY state, kind
UNION ALL SELECT state, kind, count(*) FROM open_rows WHERE state IN `+openStates+` GROUP BY state, kind`, states, func(s, k string, n int) {
		kind := crmsync.Kind(k)
		o.Total += n
		o.ByState[s] += n
		if o.ByKind[kind] == nil {
			o.ByKind[kind] = map[string]int{}
		}
		o.ByKind[kind][s] += n
	})
	if err != nil {
		return nil, err
	}
	if limit <= 0 || o.Total == 0 {
		return o, nil
	}
	// An event's since is the start of the run that first claimed or
	// recorded it (the age of the problem), not its last update: each run
	// that meets it again records it again.
	irows, err := l.db.QueryContext(ctx, `SELECT e.kind, e.key, e.state, e.reason, COALESCE((SELECT r.started FROM runs r WHERE r.id = e.first_run), e.updated), e.last_run FROM events e WHERE e.state IN `+in+` AND e.state <> 'sent' AND NOT `+refusedBody+`
UNION ALL SELECT kind, key, state, reason, since, run_id FROM open_rows WHERE state IN `+openStates+`
ORDER BY 5, 1, 2 LIMIT ?`, append(states, limit)...)
	if err != nil {
		return nil, err
	}
	defer irows.Close()
	for irows.Next() {
		var (
			it    OutstandingItem
			kind  string
			since int64
		)
		if err := irows.Scan(&kind, &it.Key, &it.State, &it.Reason, &since, &it.Run); err != nil {
			return nil, err
		}
		it.Kind, it.Since = crmsync.Kind(kind), time.Unix(0, since).In(l.Location)
		if it.Reason == "" {
			it.Reason = defaultReason(it.State, it.Run)
		}
		if ps, ok := crmsync.ProblemsIn(it.Reason); ok {
			it.Reason = crmsync.EncodeProblems(ps)
			if it.State == string(crmsync.OutcomeInvalid) {
				// Problems are an invalid row's: the reason of another
				// item is a code too (crmsync.Because), rendered in Reason.
				it.Problems = ps
			}
		}
		o.Items = append(o.Items, it)
	}
	return o, irows.Err()
}

// defaultReason says why an item is outstanding when no reason was stored
// (events recorded by an older crmsync, claims).
func defaultReason(state string, run int64) string {
	switch crmsync.State(state) {
	case crmsync.StateInFlight:
		return crmsync.Because(crmsync.ReasonClaimed, strconv.FormatInt(run, 10))
	case crmsync.StateFailed:
		return crmsync.Because(crmsync.ReasonLedgerFailed)
	case crmsync.StateRejected:
		return crmsync.Because(crmsync.ReasonRejectedFix)
	case crmsync.StateUncertain:
		return ReasonInFlightDied
	case crmsync.StateBlocked:
		return crmsync.Because(crmsync.ReasonHeldEarlier)
	}
	return state
}

// RefusedBodies returns those of keys (events of kind) whose body, kept in
// the ledger, retry, apply or a run's backlog refused (reason stored-body:
// an invalid row of their own is open): resending them would be refused
// again.
func (l *Ledger) RefusedBodies(ctx context.Context, kind crmsync.Kind, keys []string) ([]string, error) {
	var out []string
	for _, k := range keys {
		var n int
		err := l.db.QueryRowContext(ctx, `SELECT count(*) FROM open_rows WHERE kind = ? AND key = ? AND state = 'invalid' AND event = key`, string(kind), k).Scan(&n)
		if err != nil {
			return nil, fmt.Errorf("refused bodies in ledger %s: %w", l.path, err)
		}
		if n > 0 {
			out = append(out, k)
		}
	}
	return out, nil
}
