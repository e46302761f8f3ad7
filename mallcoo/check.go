package mallcoo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync"
)

// FieldError says which field of a request body breaks Mallcoo's rules and
// why. Field is the API field name, "List[i].Item" inside a list, or empty
// when the body as a whole is wrong.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// CheckBody checks a request body of kind against the endpoint's fields
// (SpecOf(kind).Fields) and returns a *FieldError for the first problem, in
// field order, or nil:
//
//   - the body is one JSON object with no field the endpoint lacks (names
//     are case-sensitive);
//   - required fields are present, not null and not "";
//   - string and datetime fields are JSON strings, int and long fields JSON
//     integers, decimal fields JSON numbers, list fields arrays of objects
//     whose items follow the list's ItemSpec;
//   - datetimes are "yyyy-MM-dd HH:mm:ss"; closed enums hold a documented
//     value;
//   - URLText fields (Desc of over-limit, bonus, verify, invalid) are
//     URL-encoded: no raw non-ASCII, no spaces, well-formed %-escapes;
//   - member: ThirdPartyCardID or Mobile, a Mobile as ValidMobile says;
//   - score, score-v2: the errors of CheckScore (warnings pass).
//
// An optional field sent as "" or null is taken as absent, like a missing
// one: the vendor's own score example sends "ReturnTime": "" (and
// "TradeSerialNo": "") for a sale, so Mallcoo must accept it. crmsync
// sends empty optional fields as Field.Empty says (WireBody).
// TotalAmount = PayAmount + PromotionAmount (score-v2) is not checked: the
// vendor's example breaks it, so the importer warns instead.
func CheckBody(kind crmsync.Kind, body []byte) error {
	spec, ok := specs[kind]
	if !ok {
		return &FieldError{Reason: fmt.Sprintf("unknown kind %q", kind)}
	}
	return Check(spec, body, CheckOptions{})
}

// CheckOptions loosen CheckBody where the real API may be looser than the
// vendor's page reads.
type CheckOptions struct {
	// IgnoreUnknown accepts fields the endpoint lacks (a .NET model binder
	// ignores them by default) instead of refusing the body.
	IgnoreUnknown bool
}

// Check is CheckBody with the endpoint given as a Spec (SpecFor: with the
// fields a mall requires) and options.
func Check(spec *Spec, body []byte, opt CheckOptions) error {
	obj, err := decodeObject(body)
	if err != nil {
		return &FieldError{Reason: "body is not a JSON object: " + err.Error()}
	}
	if err := checkObject(spec.Fields, spec.Items, "", obj, opt); err != nil {
		return err
	}
	switch spec.Kind {
	case crmsync.KindMember:
		card, mobile := stringOf(obj["ThirdPartyCardID"]), stringOf(obj["Mobile"])
		if card == "" && mobile == "" {
			return &FieldError{Field: "ThirdPartyCardID", Reason: "ThirdPartyCardID or Mobile is required"}
		}
		if mobile != "" && !ValidMobile(mobile) {
			return &FieldError{Field: "Mobile", Reason: fmt.Sprintf("%q is not an 11-digit mainland mobile number", mobile)}
		}
	case crmsync.KindScore, crmsync.KindScoreV2:
		return checkScore(obj)
	}
	return nil
}

func checkScore(obj map[string]json.RawMessage) error {
	event, _ := strconv.Atoi(string(obj["ScoreEvent"]))
	amount := func(name string) Amount {
		if isAbsent(obj[name]) {
			return ""
		}
		a, _ := ParseAmount(string(obj[name])) // a JSON number: checkValue passed
		return a
	}
	s := Score{Event: event, HasReturnTime: !isAbsent(obj["ReturnTime"]), ReturnAmount: amount("ReturnAmount"), Score: amount("Score")}
	for _, b := range CheckScore(s) {
		if !b.Warning {
			return &FieldError{Field: b.Field, Reason: b.EN}
		}
	}
	return nil
}

// decodeObject reads one JSON object and nothing after it.
func decodeObject(b []byte) (map[string]json.RawMessage, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil, fmt.Errorf("starts with %s", snippet(b))
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// checkObject checks an object's fields; prefix names the list item.
func checkObject(fields []Field, items map[string]*ItemSpec, prefix string, obj map[string]json.RawMessage, opt CheckOptions) error {
	known := make(map[string]bool, len(fields))
	for _, f := range fields {
		known[f.Name] = true
	}
	var unknown []string
	for name := range obj {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 && !opt.IgnoreUnknown {
		slices.Sort(unknown)
		reason := "unknown field"
		for _, f := range fields {
			if strings.EqualFold(f.Name, unknown[0]) {
				reason += fmt.Sprintf(" (names are case-sensitive: %s)", f.Name)
			}
		}
		return &FieldError{Field: prefix + unknown[0], Reason: reason}
	}
	for _, f := range fields {
		raw, present := obj[f.Name]
		if err := checkValue(f, items, prefix+f.Name, raw, present, opt); err != nil {
			return err
		}
	}
	return nil
}

// isAbsent reports whether a value is missing, null or "".
func isAbsent(raw json.RawMessage) bool {
	s := string(raw)
	return s == "" || s == "null" || s == `""`
}

// stringOf returns a JSON string's value, or "" for anything else.
func stringOf(raw json.RawMessage) string {
	var s string
	if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

func checkValue(f Field, items map[string]*ItemSpec, path string, raw json.RawMessage, present bool, opt CheckOptions) error {
	if isAbsent(raw) {
		switch {
		case f.Required && !present:
			return &FieldError{Field: path, Reason: "is required"}
		case f.Required:
			return &FieldError{Field: path, Reason: fmt.Sprintf("is required, got %s", raw)}
		}
		if string(raw) != `""` || f.Type == String || f.Type == DateTime {
			return nil
		}
		// "" in a number or list field is a type error, not an absence.
	}
	switch f.Type {
	case String, DateTime:
		if raw[0] != '"' {
			return &FieldError{Field: path, Reason: fmt.Sprintf("must be a JSON string, got %s", snippet(raw))}
		}
		s := stringOf(raw)
		if f.Type == DateTime {
			if _, err := time.ParseInLocation(DateTimeLayout, s, CST); err != nil {
				return &FieldError{Field: path, Reason: fmt.Sprintf("%q is not a datetime yyyy-MM-dd HH:mm:ss", s)}
			}
		}
		if f.URLText {
			if reason := checkURLText(s); reason != "" {
				return &FieldError{Field: path, Reason: reason}
			}
		}
	case Int, Long:
		bits := 32
		if f.Type == Long {
			bits = 64
		}
		v, err := strconv.ParseInt(string(raw), 10, bits)
		if err != nil {
			return &FieldError{Field: path, Reason: fmt.Sprintf("must be a JSON integer (%s), got %s", f.Type, snippet(raw))}
		}
		if f.Closed && len(f.Enum) > 0 && !f.Enum.Has(int(v)) {
			return &FieldError{Field: path, Reason: fmt.Sprintf("%d is not one of %s", v, f.Enum.Text("en", ", "))}
		}
	case Decimal:
		if c := raw[0]; c != '-' && (c < '0' || c > '9') {
			return &FieldError{Field: path, Reason: fmt.Sprintf("must be a JSON number, got %s", snippet(raw))}
		}
		if f.Cents && Amount(raw).Decimals() > 2 {
			return &FieldError{Field: path, Reason: fmt.Sprintf("money has at most two decimal places (fen), got %s", snippet(raw))}
		}
	case List:
		var list []json.RawMessage
		if raw[0] != '[' || json.Unmarshal(raw, &list) != nil {
			return &FieldError{Field: path, Reason: fmt.Sprintf("must be a JSON array, got %s", snippet(raw))}
		}
		is := items[f.Name]
		if is == nil {
			return &FieldError{Field: path, Reason: "no item rules for this list"}
		}
		for i, item := range list {
			ip := fmt.Sprintf("%s[%d]", path, i)
			obj, err := decodeObject(item)
			if err != nil {
				return &FieldError{Field: ip, Reason: "must be a JSON object"}
			}
			if err := checkObject(is.Fields, nil, ip+".", obj, opt); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkURLText says why s is not URL-encoded text, or "".
func checkURLText(s string) string {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 0x80:
			return "holds raw non-ASCII text: it must be sent URL-encoded as UTF-8 (e.g. %e6%b5%8b for 测)"
		case c == ' ':
			return "holds a space: it must be sent URL-encoded ('+')"
		case c < 0x20:
			return "holds a control character: it must be sent URL-encoded"
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "has a '%' not followed by two hex digits: it must be sent URL-encoded (%25)"
			}
		}
	}
	return ""
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
