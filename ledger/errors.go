package ledger

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"

	"github.com/mattn/go-sqlite3"
)

// Problem says what is wrong with a ledger file, for a FileError.
type Problem int

// The problems of a ledger file.
const (
	ProblemReadOnly   Problem = iota + 1 // the file, its folder or its file system is read-only
	ProblemFull                          // the disk (or the ledger's size limit) is full
	ProblemCantOpen                      // SQLite cannot open the file
	ProblemIO                            // the disk failed a read or a write
	ProblemDirectory                     // the path is a directory
	ProblemNotRegular                    // a device, fifo or socket
	ProblemEmpty                         // an existing file of 0 bytes
	ProblemNotSQLite                     // not a SQLite database
	ProblemNotLedger                     // a SQLite database, but not a crmsync ledger
	ProblemDamaged                       // SQLite found the file corrupt
	ProblemBadSchema                     // a schema version no crmsync writes
	ProblemUnreadable                    // no permission to read
	ProblemLinked                        // the file has more than one name (hard links)
	ProblemMissing                       // no file at the path, and Options.Create was not set
	ProblemExists                        // Create found a file at the path already
)

// FileError says that the ledger file itself is unusable (not a row or an
// event): read-only, disk full, not a ledger. Err is the cause, when there
// is one (an *os.PathError, a sqlite3.Error).
type FileError struct {
	Path    string
	Problem Problem
	Schema  int  // with ProblemBadSchema: the file's user_version
	Links   int  // with ProblemLinked: the file's number of names
	Folder  bool // with ProblemReadOnly: the folder is, not the file
	Err     error
}

func (e *FileError) Error() string {
	cause := ""
	if e.Err != nil {
		cause = ": " + e.Err.Error()
	}
	switch e.Problem {
	case ProblemReadOnly:
		if e.Folder {
			return fmt.Sprintf("ledger %s is read-only: its folder %s is not writable, and SQLite must create %s-wal and %s-shm there; make the folder writable, or mount its disk read-write", e.Path, filepath.Dir(e.Path), filepath.Base(e.Path), filepath.Base(e.Path))
		}
		return fmt.Sprintf("ledger %s is read-only%s; make the file and its folder %s writable (crmsync writes %s-wal and %s-shm beside it), or mount its disk read-write", e.Path, cause, filepath.Dir(e.Path), filepath.Base(e.Path), filepath.Base(e.Path))
	case ProblemFull:
		return fmt.Sprintf("disk full writing ledger %s%s; free space on its disk and run again (events whose answer could not be recorded are held as uncertain)", e.Path, cause)
	case ProblemCantOpen:
		return fmt.Sprintf("cannot open ledger %s%s; check that the path is right and its folder exists and is writable", e.Path, cause)
	case ProblemIO:
		return fmt.Sprintf("disk error on ledger %s%s; check the disk (dmesg), then run again", e.Path, cause)
	case ProblemDirectory:
		return fmt.Sprintf("ledger %s is a directory; give -ledger a file (e.g. %s)", e.Path, filepath.Join(e.Path, "crmsync.db"))
	case ProblemNotRegular:
		return fmt.Sprintf("ledger %s is not a regular file (a device, pipe or socket); give -ledger a file", e.Path)
	case ProblemEmpty:
		return fmt.Sprintf("ledger %s is an empty file (0 bytes), not a crmsync ledger; unless a crmsync is creating it right now, restore it from a backup, or remove it to start a new ledger (every event would be sent again)", e.Path)
	case ProblemNotSQLite:
		return fmt.Sprintf("ledger %s is not a SQLite database, so not a crmsync ledger; give -ledger the file crmsync run uses", e.Path)
	case ProblemNotLedger:
		return fmt.Sprintf("ledger %s is a SQLite database but not a crmsync ledger; give -ledger another path", e.Path)
	case ProblemDamaged:
		return fmt.Sprintf("ledger %s is damaged%s; restore it from a backup", e.Path, cause)
	case ProblemBadSchema:
		return fmt.Sprintf("ledger %s has schema version %d, which no crmsync writes: the file is damaged or not a ledger; restore it from a backup", e.Path, e.Schema)
	case ProblemMissing:
		return fmt.Sprintf("ledger %s does not exist: no file was created (a new ledger forgets what was delivered, and every event would be sent again); check the path, or create a ledger on purpose with crmsync init -ledger %s", e.Path, e.Path)
	case ProblemExists:
		return fmt.Sprintf("ledger %s exists already: it is left as it is; to start anew, move it aside first (every event would be sent again)", e.Path)
	case ProblemLinked:
		return fmt.Sprintf("ledger %s has %d names (hard links); SQLite keeps the ledger's log (-wal) beside the name it was opened by, so another name may miss the last run's events and send them again: remove the other names (find / -samefile %s) and always use one", e.Path, e.Links, e.Path)
	case ProblemUnreadable:
		return fmt.Sprintf("ledger %s cannot be read%s; give this user read access to it", e.Path, cause)
	}
	return fmt.Sprintf("ledger %s%s", e.Path, cause)
}

func (e *FileError) Unwrap() error { return e.Err }

// fileErr turns an error about the ledger file into a *FileError when it
// is one the user must fix outside crmsync (read-only, full disk, ...),
// judged by SQLite's result code or the system's errno, never by message.
// Other errors are returned as they are.
func fileErr(path string, err error) error {
	if err == nil {
		return nil
	}
	var fe *FileError
	if errors.As(err, &fe) {
		return err
	}
	p, folder := Problem(0), false
	var se sqlite3.Error
	var errno syscall.Errno
	switch {
	case errors.As(err, &se):
		switch se.Code {
		case sqlite3.ErrReadonly:
			p = ProblemReadOnly
			folder = writable(path) && !writable(filepath.Dir(path))
		case sqlite3.ErrFull:
			p = ProblemFull
		case sqlite3.ErrCantOpen:
			p = ProblemCantOpen
			if !writable(filepath.Dir(path)) {
				p, folder = ProblemReadOnly, true // SQLite cannot create -wal or -shm
			}
		case sqlite3.ErrIoErr:
			p = ProblemIO
			if se.SystemErrno == syscall.ENOSPC {
				p = ProblemFull
			}
		case sqlite3.ErrNotADB:
			p = ProblemNotSQLite
		case sqlite3.ErrCorrupt:
			p = ProblemDamaged
		}
	case errors.As(err, &errno):
		switch errno {
		case syscall.EROFS, syscall.EACCES, syscall.EPERM:
			p = ProblemReadOnly
		case syscall.ENOSPC, syscall.EDQUOT:
			p = ProblemFull
		case syscall.EIO:
			p = ProblemIO
		case syscall.EISDIR:
			p = ProblemDirectory
		}
	case errors.Is(err, fs.ErrPermission):
		p = ProblemReadOnly
	}
	if p == 0 {
		return err
	}
	return &FileError{Path: path, Problem: p, Err: err, Folder: folder}
}

// writable reports whether this user may write the file, or create files
// in the directory, at path.
func writable(path string) bool {
	return syscall.Access(path, 2 /* W_OK */) == nil
}

// openErr is the error of opening the ledger at path: a *FileError as it
// is (it names the ledger), anything else wrapped with the operation.
func openErr(path string, err error) error {
	err = fileErr(path, err)
	var fe *FileError
	if errors.As(err, &fe) {
		return err
	}
	return fmt.Errorf("open ledger %s: %w", path, err)
}
