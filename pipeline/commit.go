package pipeline

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/crmsync/crmsync"
)

// claimRecorder is a ledger that commits claims and results together in
// one durable transaction (ledger.Ledger.ClaimRecord).
type claimRecorder interface {
	ClaimRecord(ctx context.Context, runID int64, evs []*crmsync.Event, rs []*crmsync.Result) error
}

// committer is the send stage's group commit: the claims that workers wait
// for and the results they hand over go to the ledger through one
// goroutine, in durable transactions (ClaimRecord). A commit holds the
// claims waiting at that moment and every answer waiting; without claims,
// answers are committed every recordEvery (or recordBatch answers), so
// they cost no commit of their own. A worker waits only for the commit
// that holds its claim. An answer is on disk by its worker's next claim,
// or within about recordEvery, so a crash leaves few delivered events
// uncertain (never lost): at most one a worker.
type committer struct {
	ledger crmsync.Ledger
	both   claimRecorder // nil: Claim, then Record
	runID  int64

	mu      sync.Mutex
	claims  []claimReq        // waiting for the next commit
	results []*crmsync.Result // waiting to be recorded
	closed  bool
	err     error             // the first failed commit's: later commits are not tried
	lost    []*crmsync.Result // not recorded: in a failed commit, or added after it

	kick chan struct{} // something was added (capacity 1)
	done chan struct{}
}

// errCommitterClosed is the error of a claim made after the send stage
// ended.
var errCommitterClosed = errors.New("claim after the send stage ended")

// claimReq is a claim of evs; resp gets the commit's error.
type claimReq struct {
	evs  []*crmsync.Event
	resp chan error
}

func newCommitter(l crmsync.Ledger, runID int64) *committer {
	c := &committer{ledger: l, runID: runID, kick: make(chan struct{}, 1), done: make(chan struct{})}
	c.both, _ = l.(claimRecorder)
	go c.loop()
	return c
}

// recordEvery is the longest a worker's answer waits to be committed when
// no claim comes to carry it.
const recordEvery = 20 * time.Millisecond

func (c *committer) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// claim claims evs durably: it returns once the commit that holds them has,
// with its error. The commit is not cancelled (ctx is the send stage's,
// which outlives an interrupt).
func (c *committer) claim(ctx context.Context, evs ...*crmsync.Event) error {
	resp := make(chan error, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errCommitterClosed
	}
	c.claims = append(c.claims, claimReq{evs: evs, resp: resp})
	c.mu.Unlock()
	c.wake()
	return <-resp
}

// add queues a result to be recorded. Only the first result waiting and a
// full batch wake the committer: in between it sleeps until recordEvery
// or a claim, not once an answer.
func (c *committer) add(r *crmsync.Result) {
	c.mu.Lock()
	c.results = append(c.results, r)
	n := len(c.results)
	c.mu.Unlock()
	if n == 1 || n >= recordBatch {
		c.wake()
	}
}

func (c *committer) loop() {
	defer close(c.done)
	var last time.Time // the last commit that recorded results
	// One timer for every wait for recordEvery (a timer a wait cost an
	// allocation an answer).
	t := time.NewTimer(recordEvery)
	t.Stop()
	defer t.Stop()
	for {
		c.mu.Lock()
		claims, results, closed := len(c.claims), len(c.results), c.closed
		c.mu.Unlock()
		due := results > 0 && (closed || results >= recordBatch || time.Since(last) >= recordEvery)
		switch {
		case claims == 0 && results == 0 && closed:
			return
		case claims > 0 || due:
			// A claim's commit carries every answer waiting (commit),
			// so a worker's last answer is on disk once its next claim
			// is: each worker holds at most one event that a kill
			// leaves uncertain (its request out, or its answer not yet
			// recorded), not one of each.
			c.commit(due)
			if results > 0 {
				last = time.Now()
			}
		case results > 0:
			// Answers wait to be recorded in a batch, up to recordEvery
			// after the last: a claim's commit carries them then.
			t.Reset(recordEvery - time.Since(last))
			select {
			case <-c.kick:
			case <-t.C:
			}
			t.Stop()
		default:
			<-c.kick
		}
	}
}

// recordBatch is how many answers are recorded at once at most before
// recordEvery: bigger batches cost less per row (fewer statements).
const recordBatch = 1024

// commit writes what waits: every claim and, with claims or when results
// says, every result, in one transaction. Both are taken under one lock:
// an answer a worker added before its next claim is in that claim's
// commit, however late both came.
func (c *committer) commit(results bool) {
	c.mu.Lock()
	reqs, failed := c.claims, c.err
	c.claims = nil
	var rs []*crmsync.Result
	if results || len(reqs) > 0 {
		rs, c.results = c.results, nil
	}
	c.mu.Unlock()
	var evs []*crmsync.Event
	for _, q := range reqs {
		evs = append(evs, q.evs...)
	}
	err := failed
	if err == nil {
		// The run's ctx may be cancelled by now; results must still be
		// written.
		ctx := context.Background()
		if c.both != nil {
			err = c.both.ClaimRecord(ctx, c.runID, evs, rs)
		} else if err = c.ledger.Claim(ctx, c.runID, evs); err == nil {
			err = c.ledger.Record(ctx, c.runID, rs)
		}
	}
	if err != nil {
		c.mu.Lock()
		if c.err == nil {
			c.err = err
		}
		c.lost = append(c.lost, rs...)
		c.mu.Unlock()
	}
	for _, q := range reqs {
		q.resp <- err
	}
}

// failed returns the error that stopped the committer, if any: answers can
// no longer be recorded.
func (c *committer) failed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// close commits what is left and stops; it returns failed().
func (c *committer) close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.wake()
	<-c.done
	return c.failed()
}

// claimBatch is how many events of safe kinds are claimed at once ahead of
// their sends (and how many lanes wait to be handed out at most).
const claimBatch = 256
