package mallcoo

import (
	"fmt"
	"net/http"
	"strings"
)

// APIError is a request that got no usable answer from Mallcoo: a transport
// error or timeout (Err set), an HTTP status other than 2xx (HTTPStatus), or
// a 2xx answer that is not Mallcoo's JSON. Code and Message hold a JSON
// answer's fields when there was one (e.g. the Code -1 of an HTTP 401).
// Client.Send wraps it; find it with errors.As.
type APIError struct {
	HTTPStatus int    // 0 when no HTTP answer was had
	Code       int    // Mallcoo's Code, 0 when none
	Message    string // Mallcoo's Message, verbatim
	Err        error  // the transport or decoding error, if any
}

// Error says what went wrong; it never contains the request's headers.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("mallcoo")
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.HTTPStatus)
		if t := http.StatusText(e.HTTPStatus); t != "" {
			b.WriteString(" " + t)
		}
	}
	if e.Code != 0 || e.Message != "" {
		fmt.Fprintf(&b, ": Code %d", e.Code)
		if e.Message != "" {
			fmt.Fprintf(&b, " %q", e.Message)
		}
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the transport or decoding error.
func (e *APIError) Unwrap() error { return e.Err }

// Temporary reports whether trying again later can help: transport errors,
// timeouts, HTTP 5xx and 429, and answers that are not Mallcoo's JSON. HTTP
// 401/403 and other 4xx are not temporary.
func (e *APIError) Temporary() bool {
	switch {
	case e.HTTPStatus == 0:
		return e.Err != nil
	case e.HTTPStatus == http.StatusTooManyRequests, e.HTTPStatus >= 500:
		return true
	case e.HTTPStatus >= 200 && e.HTTPStatus < 300:
		return true // answered, but not with Mallcoo's JSON
	}
	return false
}

// sendError is what Send returns on failure: a message with the operation
// and what to do, wrapping every sentinel and cause that applies
// (crmsync.ErrSystemic, crmsync.ErrMaybeDelivered, *APIError, ctx errors).
type sendError struct {
	msg  string
	errs []error
}

func (e *sendError) Error() string   { return e.msg }
func (e *sendError) Unwrap() []error { return e.errs }
