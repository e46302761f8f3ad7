package mallcoo

import "testing"

// canonical agrees with ParseAmount's slow path: a text is canonical
// exactly when normalising it gives it back unchanged.
func TestCanonical(t *testing.T) {
	for _, s := range []string{"0", "1", "-1", "1280.5", "-0.5", "0.05", "10", "100.01", "-0", "00", "01", "1.50", "1.", ".5", "+1", "1,280", "-", "", "1e5", "12345678901234567890", "123456789012345678901"} {
		a, err := ParseAmount(" " + s) // the space skips the fast path
		want := err == nil && string(a) == s
		if got := canonical(s); got != want {
			t.Errorf("canonical(%q) = %v, want %v (ParseAmount gives %q, %v)", s, got, want, a, err)
		}
	}
}
