package pipeline

import (
	"context"
	"sync"
	"time"

	"github.com/crmsync/crmsync"
)

// claimer batches concurrent claims into one durable ledger commit (group
// commit): a worker waits only for the commit that includes its event.
type claimer struct {
	ledger crmsync.Ledger
	runID  int64
	reqs   chan claimReq
	done   chan struct{}
}

type claimReq struct {
	ctx  context.Context
	ev   *crmsync.Event
	resp chan error
}

func newClaimer(l crmsync.Ledger, runID int64) *claimer {
	c := &claimer{ledger: l, runID: runID, reqs: make(chan claimReq, 256), done: make(chan struct{})}
	go c.loop()
	return c
}

func (c *claimer) loop() {
	defer close(c.done)
	for r := range c.reqs {
		batch := []claimReq{r}
	more:
		for len(batch) < 256 {
			select {
			case r2, ok := <-c.reqs:
				if !ok {
					break more
				}
				batch = append(batch, r2)
			default:
				break more
			}
		}
		evs := make([]*crmsync.Event, len(batch))
		for i, b := range batch {
			evs[i] = b.ev
		}
		err := c.ledger.Claim(batch[0].ctx, c.runID, evs)
		for _, b := range batch {
			b.resp <- err
		}
	}
}

func (c *claimer) claim(ctx context.Context, ev *crmsync.Event) error {
	resp := make(chan error, 1)
	c.reqs <- claimReq{ctx: ctx, ev: ev, resp: resp}
	return <-resp
}

// claimBatch claims evs in one durable commit, bypassing the group commit.
func (c *claimer) claimBatch(ctx context.Context, evs []*crmsync.Event) error {
	return c.ledger.Claim(ctx, c.runID, evs)
}

// claimBatch is how many events of safe kinds are claimed at once ahead of
// their sends (and how many lanes wait to be handed out at most).
const claimBatch = 256

func (c *claimer) close() {
	close(c.reqs)
	<-c.done
}

// recorder writes results in batches in the background, so workers do not
// wait for the ledger after each answer.
type recorder struct {
	ledger crmsync.Ledger
	runID  int64
	mu     sync.Mutex
	buf    []*crmsync.Result
	kick   chan struct{}
	done   chan struct{}
	err    error
	lost   []*crmsync.Result // not recorded: in a failed batch, or added after it
}

func newRecorder(l crmsync.Ledger, runID int64) *recorder {
	r := &recorder{ledger: l, runID: runID, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go r.loop()
	return r
}

// add queues a result. The recorder commits whatever has queued in one
// transaction (group commit), at most recordEvery apart: an answer is on
// disk within about that, so a crash leaves few delivered events uncertain.
func (r *recorder) add(res *crmsync.Result) {
	r.mu.Lock()
	r.buf = append(r.buf, res)
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *recorder) loop() {
	defer close(r.done)
	var last time.Time
	for range r.kick {
		// Commit at most every recordEvery: bigger batches cost less per
		// row, and a crash leaves at most that much of answers unrecorded
		// (those events come back uncertain, never lost).
		if wait := recordEvery - time.Since(last); wait > 0 {
			time.Sleep(wait)
		}
		last = time.Now()
		r.flush()
	}
	r.flush()
}

// recordEvery is the longest a worker's answer waits to be committed.
const recordEvery = 20 * time.Millisecond

func (r *recorder) flush() {
	r.mu.Lock()
	buf, failed := r.buf, r.err != nil
	r.buf = nil
	r.mu.Unlock()
	if len(buf) == 0 {
		return
	}
	if failed {
		r.mu.Lock()
		r.lost = append(r.lost, buf...)
		r.mu.Unlock()
		return
	}
	// The run's ctx may be cancelled by now; results must still be written.
	if err := r.ledger.Record(context.Background(), r.runID, buf); err != nil {
		r.mu.Lock()
		r.err = err
		r.lost = append(r.lost, buf...)
		r.mu.Unlock()
	}
}

// failed returns the error that stopped the recorder, if any.
func (r *recorder) failed() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *recorder) close(ctx context.Context) error {
	close(r.kick)
	<-r.done
	return r.failed()
}
