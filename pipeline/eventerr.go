package pipeline

import (
	"errors"
	"fmt"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/report"
)

// EventError is run-level trouble met on one event (its claim could not be
// written): Op of Kind Key failed with Err. Its text names the key, which
// may hold a member's card ID or mobile (a bonus's RefID|card): Run masks
// the run's error text (maskEventError), as the report does, before it is
// shown or stored as the run's reason, unless the report shows personal
// data (ShowPersonal).
type EventError struct {
	Op   string
	Kind crmsync.Kind
	Key  string
	Body []byte // the event's request body: its personal values
	Err  error
}

func (e *EventError) Error() string { return fmt.Sprintf("%s %s %s: %v", e.Op, e.Kind, e.Key, e.Err) }

func (e *EventError) Unwrap() error { return e.Err }

// maskedError is an error whose text had personal values masked; errors.Is
// and errors.As see the error it masks.
type maskedError struct {
	text string
	err  error
}

func (e *maskedError) Error() string { return e.text }
func (e *maskedError) Unwrap() error { return e.err }

// maskEventError masks the personal values of the event an *EventError in
// err names, wherever they stand in err's whole text: a wrapper formatted
// its text when it was made, so masking the EventError alone would leave
// them in the wrapper's.
func maskEventError(err error) error {
	var ee *EventError
	if !errors.As(err, &ee) {
		return err
	}
	m := report.NewMasker(false)
	m.Row(ee.Kind, ee.Body, nil)
	return &maskedError{text: m.Text(err.Error()), err: err}
}
