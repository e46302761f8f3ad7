package pipeline

import (
	"context"
	"sync"
	"testing"

	"github.com/crmsync/crmsync"
)

// commits is a claimRecorder that keeps what each commit held.
type commits struct {
	crmsync.Ledger
	mu   sync.Mutex
	done [][2][]string // claimed keys, recorded keys
}

func (c *commits) ClaimRecord(_ context.Context, _ int64, evs []*crmsync.Event, rs []*crmsync.Result) error {
	var k [2][]string
	for _, e := range evs {
		k[0] = append(k[0], e.Key)
	}
	for _, r := range rs {
		k[1] = append(k[1], r.Key)
	}
	c.mu.Lock()
	c.done = append(c.done, k)
	c.mu.Unlock()
	return nil
}

// TestClaimCarriesAnswers: the commit of a worker's next claim records its
// last answer too, even right after answers were recorded (within
// recordEvery): otherwise a kill then leaves two events of that worker
// uncertain, the answered one and the one out, beyond the README's bound
// of twice -concurrency.
func TestClaimCarriesAnswers(t *testing.T) {
	l := &commits{}
	c := newCommitter(l, 1)
	ctx := context.Background()
	c.add(&crmsync.Result{Key: "E0"})
	if err := c.claim(ctx, &crmsync.Event{Key: "E1"}); err != nil { // records E0: answers were never recorded before
		t.Fatal(err)
	}
	c.add(&crmsync.Result{Key: "E1"}) // E1's answer, right after
	if err := c.claim(ctx, &crmsync.Event{Key: "E2"}); err != nil {
		t.Fatal(err)
	}
	c.close()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range l.done {
		if len(k[0]) == 1 && k[0][0] == "E2" {
			if len(k[1]) != 1 || k[1][0] != "E1" {
				t.Fatalf("the commit claiming E2 recorded %v, want E1's answer with it (commits: %v)", k[1], l.done)
			}
			return
		}
	}
	t.Fatalf("no commit claimed E2: %v", l.done)
}
