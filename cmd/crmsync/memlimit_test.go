package main

import "testing"

// TestMemoryLimitFor: the soft limit is memoryLimitBase while the live heap
// is small, and keeps memoryLimitRoom above a live heap that outgrows it,
// so a command holding more than the base does not collect without end.
func TestMemoryLimitFor(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int64
	}{
		{0, 48 << 20},
		{20 << 20, 48 << 20},
		{32 << 20, 48 << 20},
		{40 << 20, 56 << 20},
		{500 << 20, 516 << 20},
	} {
		if got := memoryLimitFor(c.live); got != c.want {
			t.Errorf("memoryLimitFor(%d MiB) = %d MiB, want %d MiB", c.live>>20, got>>20, c.want>>20)
		}
	}
}
