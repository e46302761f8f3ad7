//go:build !linux

package ledger

import "syscall"

// Without open file description locks the process-associated ones are
// used: they exclude other processes, but SQLite closing a connection may
// drop them, so only Linux keeps the guarantees described in lock.go.
const (
	fOFDGetLK = syscall.F_GETLK
	fOFDSetLK = syscall.F_SETLK
)
