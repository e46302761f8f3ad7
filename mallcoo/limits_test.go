package mallcoo

import (
	"math"
	"testing"
)

// TestCheckRateRetries: a rate so low, or so many retries, that a run
// would wait for hours or forever is refused; the usual values pass.
func TestCheckRateRetries(t *testing.T) {
	for _, r := range []float64{0, MinRate, 0.5, 50, 1e6} {
		if err := CheckRate(r); err != nil {
			t.Errorf("CheckRate(%v) = %v, want nil", r, err)
		}
	}
	for _, r := range []float64{1e-300, 0.001, MinRate / 2, -1, math.NaN(), math.Inf(1)} {
		if err := CheckRate(r); err == nil {
			t.Errorf("CheckRate(%v) = nil, want an error", r)
		}
	}
	for _, n := range []int{0, 3, MaxRetries} {
		if err := CheckRetries(n); err != nil {
			t.Errorf("CheckRetries(%d) = %v, want nil", n, err)
		}
	}
	for _, n := range []int{-1, MaxRetries + 1, math.MaxInt32, math.MaxInt} {
		if err := CheckRetries(n); err == nil {
			t.Errorf("CheckRetries(%d) = nil, want an error", n)
		}
	}
	for _, cfg := range []Config{{Rate: 1e-300}, {Retries: math.MaxInt32}} {
		if _, err := NewClient(cfg); err == nil {
			t.Errorf("NewClient(rate %v, retries %d) = nil error, want refused", cfg.Rate, cfg.Retries)
		}
	}
}
