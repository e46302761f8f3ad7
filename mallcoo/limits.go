package mallcoo

import (
	"errors"
	"math"
)

// Bounds of Config.Rate and Config.Retries: beyond them a run waits for
// hours between requests, or retries one request for ever (each retry
// waits up to BackoffMax, 30 s by default, plus the request's timeout).
const (
	// MinRate is the lowest request rate (per second) above 0 (unlimited):
	// one request a minute. A thousand events take 17 hours at it.
	MinRate = 1.0 / 60
	// MaxRetries is the most retries of one request: about 15 minutes of
	// backoff at most before it is recorded failed for the next run.
	MaxRetries = 30
)

// CheckRate says why r is no usable request rate (requests per second for
// all workers together), or nil: 0 (unlimited), or MinRate or more.
func CheckRate(r float64) error {
	if r == 0 || r >= MinRate && !math.IsInf(r, 0) {
		return nil
	}
	return errors.New("want 0 (unlimited), or 0.017 (one request a minute) or more requests per second: a lower rate makes a run wait for hours between requests")
}

// CheckRetries says why n is no usable number of retries of a request
// after a transient failure, or nil: 0 (none) to MaxRetries.
func CheckRetries(n int) error {
	if n >= 0 && n <= MaxRetries {
		return nil
	}
	return errors.New("want 0 (no retries) to 30: more would retry one request for hours; a request still failing is recorded failed and sent again by crmsync retry or the next run")
}
