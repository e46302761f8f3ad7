package numbering

import "testing"

func TestOf(t *testing.T) {
	var n Of[string, uint8]
	for i, s := range []string{"S1", "S2", "S1", "", "S2"} {
		want := map[string]uint8{"S1": 0, "S2": 1, "": 2}[s]
		if got := n.ID(s); got != want {
			t.Errorf("%d: ID(%q) = %d, want %d", i, s, got, want)
		}
	}
	for s, id := range map[string]uint8{"S1": 0, "S2": 1, "": 2} {
		if got := n.Value(id); got != s {
			t.Errorf("Value(%d) = %q, want %q", id, got, s)
		}
	}
}
