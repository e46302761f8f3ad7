package pipeline

import (
	"fmt"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/report"
)

// EventError is run-level trouble met on one event (its claim could not be
// written): Op of Kind Key failed with Err. Its text names the key, which
// may hold a member's card ID or mobile (a bonus's RefID|card): Run masks
// them, as the report does, before the text is shown or stored as the
// run's reason, unless the report shows personal data (ShowPersonal).
type EventError struct {
	Op   string
	Kind crmsync.Kind
	Key  string
	Body []byte // the event's request body: its personal values
	Err  error

	masked string // the text with its personal values masked (mask)
}

func (e *EventError) Error() string {
	if e.masked != "" {
		return e.masked
	}
	return e.text()
}

func (e *EventError) Unwrap() error { return e.Err }

func (e *EventError) text() string { return fmt.Sprintf("%s %s %s: %v", e.Op, e.Kind, e.Key, e.Err) }

// mask makes Error mask the event's personal values wherever they appear.
func (e *EventError) mask() {
	m := report.NewMasker(false)
	m.Row(e.Kind, e.Body, nil)
	e.masked = m.Text(e.text())
}
