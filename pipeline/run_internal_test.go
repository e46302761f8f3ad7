package pipeline

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestGraceContext: the report's context outlives the run's by the grace,
// then is cancelled; it is never cancelled while the run's is not.
func TestGraceContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	after, stop := graceContext(ctx, time.Nanosecond)
	defer stop()
	if after.Err() != nil {
		t.Fatalf("graceContext() before the interrupt: %v, want live", after.Err())
	}
	cancel()
	<-after.Done() // the test hangs (and times out) if the grace never ends
	if !errors.Is(after.Err(), context.Canceled) {
		t.Errorf("graceContext() after the grace: %v, want context.Canceled", after.Err())
	}

	live, stopLive := graceContext(context.Background(), time.Nanosecond)
	stopLive()
	if !errors.Is(live.Err(), context.Canceled) {
		t.Errorf("graceContext() after its cancel func: %v, want context.Canceled", live.Err())
	}
}
