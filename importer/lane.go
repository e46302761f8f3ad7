package importer

import (
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// LaneOf reads the lane (the member's card ID) and the event time of a row
// that failed validation, from its cells, so a run can hold back the
// member's later changes of the kind. ok is false when the card ID cannot
// be read; at is zero when the time cannot.
func LaneOf(r *crmsync.Row) (lane string, at time.Time, ok bool) {
	card, when := -1, -1
	for i, f := range mallcoo.SpecOf(r.Kind).Fields {
		switch f.Name {
		case "ThirdPartyCardID":
			card = i
		case "ChangeTime", "CreateTime":
			when = i
		}
	}
	if card < 0 || card >= len(r.Values) {
		return "", time.Time{}, false
	}
	lane, fault := cleanID(r.Values[card], cellText, 0)
	if fault != idOK || lane == "" {
		return "", time.Time{}, false
	}
	if when >= 0 && when < len(r.Values) {
		if t, err := parseDateTime(r.Values[when]); err == nil {
			at = t
		}
	}
	return lane, at, true
}
