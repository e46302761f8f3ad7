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

// KeyOf reads the natural key of a row that failed validation from its
// cells, when the key's own cells read: a fixed version of the row (from
// the problems workbook, whose 事件ID is empty for such rows) has the same
// key, so the ledger can tell the mistake was fixed once it is delivered.
// A row whose cells an unquoted comma shifted has none.
// A row with an EventID cell has that as its key, as a valid row does.
// Otherwise it covers the kinds whose key is IDs alone (score kinds: TransID; bonus:
// RefID and card ID; verify, invalid: RefID; grade: GradeChangeID); ok is
// false otherwise.
func KeyOf(r *crmsync.Row) (key string, ok bool) {
	if r.Problem != nil && r.Problem.Code == crmsync.ReasonExtraCells {
		return "", false // its cells are shifted: the key cells hold others' values
	}
	if r.EventID != "" {
		// The row's own EventID is its key (as for a valid row); one that
		// does not read gives none.
		v, fault := cleanID(r.EventID, cellText, mallcoo.MaxIDLen)
		return v, fault == idOK && v != "" && (r.Problem == nil || r.Problem.Column != colEventID)
	}
	cells := map[string]string{}
	for i, f := range mallcoo.SpecOf(r.Kind).Fields {
		if i < len(r.Values) {
			cells[f.Name] = r.Values[i]
		}
	}
	id := func(name string) (string, bool) {
		v, fault := cleanID(cells[name], cellText, mallcoo.MaxIDLen)
		return v, fault == idOK && v != ""
	}
	switch r.Kind {
	case crmsync.KindScore, crmsync.KindScoreV2:
		return id("TransID")
	case crmsync.KindVerify, crmsync.KindInvalid:
		return id("RefID")
	case crmsync.KindGrade:
		return id("GradeChangeID")
	case crmsync.KindBonus:
		ref, ok1 := id("RefID")
		card, ok2 := id("ThirdPartyCardID")
		if ok1 && ok2 {
			return ref + "|" + card, true
		}
	}
	return "", false
}
