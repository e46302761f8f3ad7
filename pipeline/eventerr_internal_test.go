package pipeline

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/crmsync/crmsync"
)

// TestMaskEventErrorWrapped: the card ID an EventError names is masked in
// the run's whole error text, also where a wrapper made before the masking
// holds it (its text was formatted then), and errors.As still finds the
// EventError and errors.Is its cause.
func TestMaskEventErrorWrapped(t *testing.T) {
	cause := errors.New("disk full")
	ee := &EventError{Op: "claim", Kind: crmsync.KindBonus, Key: "R1|0201710000001", Err: cause,
		Body: []byte(`{"ThirdPartyCardID":"0201710000001","BonusAction":4,"RefID":"R1"}`)}
	for _, err := range []error{ee, fmt.Errorf("send bonus lane: %w", ee), fmt.Errorf("run 7: %w", fmt.Errorf("lane: %w", ee))} {
		got := maskEventError(err)
		if strings.Contains(got.Error(), "0201710000001") || !strings.Contains(got.Error(), "0001") {
			t.Errorf("masked %q: want the card masked, its last digits kept", got)
		}
		var as *EventError
		if !errors.As(got, &as) || as != ee || !errors.Is(got, cause) {
			t.Errorf("masked %q: errors.As/Is no longer see the EventError and its cause", got)
		}
	}
	if plain := errors.New("no card here"); maskEventError(plain) != plain {
		t.Error("an error naming no event was changed")
	}
}
