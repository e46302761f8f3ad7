//go:build !unix

package ledger

import "time"

// cpuNow is not known here: the benchmarks report zero CPU time.
func cpuNow() time.Duration { return 0 }
