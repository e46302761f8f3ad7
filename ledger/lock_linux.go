package ledger

// The fcntl commands of open file description locks (Linux 3.15+), which
// package syscall does not name.
const (
	fOFDGetLK = 36 // F_OFD_GETLK
	fOFDSetLK = 37 // F_OFD_SETLK
)
