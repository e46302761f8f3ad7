package mallcoo

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// answer is Mallcoo's JSON answer.
type answer struct {
	Code    *int    `json:"Code"`
	Message *string `json:"Message"`
}

// errNoCode is the decoding error of an answer without a Code.
var errNoCode = errors.New("answer has no Code")

// decodeAnswer reads Mallcoo's answer raw: its Code and Message (null or
// missing: ""), or the error encoding/json gives for it (errNoCode when
// it has no Code). Answers of the usual shape are read by hand
// (fastAnswer), the others by encoding/json.
func decodeAnswer(raw []byte) (code int, message string, err error) {
	if code, message, ok := fastAnswer(raw); ok {
		return code, message, nil
	}
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		return 0, "", err
	}
	if a.Code == nil {
		return 0, "", errNoCode
	}
	if a.Message != nil {
		message = *a.Message
	}
	return *a.Code, message, nil
}

// fastAnswer reads an answer of the usual shape, {"Code":1,"Message":"成功"}
// with an Extension or other members whose values are null, true, false,
// an integer, [], {} or a plain string, and says whether it did: it
// returns false for anything else (escapes, floats, nested values, names
// written in another case, a member twice, invalid UTF-8, a missing Code),
// which encoding/json then reads. Where it returns true, encoding/json
// reads the same Code and Message without error (FuzzFastAnswer).
func fastAnswer(b []byte) (code int, message string, ok bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return 0, "", false
	}
	i = skipWS(b, i+1)
	var hasCode, hasMessage bool
	if i < len(b) && b[i] == '}' {
		return 0, "", false // no Code
	}
	for {
		name, j, ok := plainString(b, i)
		if !ok || !asciiOnly(name) {
			return 0, "", false
		}
		i = skipWS(b, j)
		if i >= len(b) || b[i] != ':' {
			return 0, "", false
		}
		i = skipWS(b, i+1)
		switch {
		case name == "Code":
			if hasCode {
				return 0, "", false
			}
			n, j, ok := integer(b, i)
			if !ok {
				return 0, "", false
			}
			code, hasCode, i = n, true, j
		case name == "Message":
			if hasMessage {
				return 0, "", false
			}
			if j, ok := literal(b, i, "null"); ok {
				i = j
			} else if s, j, ok := plainString(b, i); ok {
				message, i = s, j
			} else {
				return 0, "", false
			}
			hasMessage = true
		case asciiFold(name, "Code") || asciiFold(name, "Message"):
			return 0, "", false // encoding/json matches names in any case
		default:
			j, ok := simpleValue(b, i)
			if !ok {
				return 0, "", false
			}
			i = j
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, "", false
		}
		if b[i] == '}' {
			break
		}
		if b[i] != ',' {
			return 0, "", false
		}
		i = skipWS(b, i+1)
	}
	if skipWS(b, i+1) != len(b) || !hasCode {
		return 0, "", false
	}
	return code, message, true
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads a JSON string at b[i] without escapes or control
// characters, in valid UTF-8, and returns it and the index after it.
func plainString(b []byte, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			s := b[i+1 : j]
			if !utf8.Valid(s) {
				return "", 0, false
			}
			return string(s), j + 1, true
		case c == '\\' || c < 0x20:
			return "", 0, false
		}
	}
	return "", 0, false
}

// integer reads a JSON integer of at most 18 digits at b[i].
func integer(b []byte, i int) (int, int, bool) {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	d := j
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	switch {
	case j == d || j-d > 18 || (b[d] == '0' && j-d > 1):
		return 0, 0, false
	case j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E'):
		return 0, 0, false // a float: encoding/json refuses it for an int
	}
	n, err := strconv.Atoi(string(b[i:j]))
	if err != nil {
		return 0, 0, false
	}
	return n, j, true
}

// literal reads the literal word at b[i].
func literal(b []byte, i int, word string) (int, bool) {
	if len(b)-i < len(word) || string(b[i:i+len(word)]) != word {
		return 0, false
	}
	return i + len(word), true
}

// simpleValue skips a value at b[i] that is null, true, false, an integer,
// [], {} (with whitespace inside) or a plain string.
func simpleValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case 'n':
		return literal(b, i, "null")
	case 't':
		return literal(b, i, "true")
	case 'f':
		return literal(b, i, "false")
	case '"':
		_, j, ok := plainString(b, i)
		return j, ok
	case '[', '{':
		end := byte(']')
		if b[i] == '{' {
			end = '}'
		}
		j := skipWS(b, i+1)
		if j < len(b) && b[j] == end {
			return j + 1, true
		}
		return 0, false
	}
	_, j, ok := integer(b, i)
	return j, ok
}

func asciiOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// asciiFold reports whether ASCII strings s and t are equal but for case.
func asciiFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		a, b := s[i]|0x20, t[i]|0x20
		if a != b || (a < 'a' || a > 'z') && s[i] != t[i] {
			return false
		}
	}
	return true
}
