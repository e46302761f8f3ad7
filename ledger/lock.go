package ledger

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// LockedError is returned by Lock when another process holds the ledger.
// The holder's fields are zero when its lock file could not be read (it is
// written just after the lock is taken).
type LockedError struct {
	Path    string // the ledger's path
	PID     int
	Host    string
	Command string
	Since   time.Time
}

func (e *LockedError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("ledger %s is in use by another crmsync; wait for it or stop it", e.Path)
	}
	cmd := e.Command
	if !strings.HasPrefix(cmd, "crmsync") {
		cmd = strings.TrimSpace("crmsync " + cmd)
	}
	since := e.Since.Format("2006-01-02 15:04:05")
	if y, m, d := e.Since.Date(); y == time.Now().Year() && m == time.Now().Month() && d == time.Now().Day() {
		since = e.Since.Format("15:04:05")
	}
	return fmt.Sprintf("ledger %s is in use by pid %d on host %s (%s, since %s); wait for it or stop it", e.Path, e.PID, e.Host, cmd, since)
}

// lockInfo is the content of the lock file, for people and for LockedError.
type lockInfo struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Command string    `json:"command"`
	Started time.Time `json:"started"`
}

// Lock takes the single-run lock of the ledger: an exclusive flock on
// path+".lock", which the kernel releases when the process ends however it
// ends, so a killed run never leaves the ledger locked. The file records the
// holder's pid, host, command and start time. When another process (or
// another Open of the same path) holds the lock, Lock returns a
// *LockedError naming it at once; it does not wait. unlock releases the
// lock and may be called any number of times; Close also releases it.
func (l *Ledger) Lock(command string) (unlock func() error, err error) {
	l.lmu.Lock()
	defer l.lmu.Unlock()
	if l.lock != nil {
		return nil, fmt.Errorf("lock ledger %s: already locked by this process", l.path)
	}
	name := l.path + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock ledger %s: %w", l.path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			le := &LockedError{Path: l.path}
			var info lockInfo
			if b, rerr := io.ReadAll(f); rerr == nil && json.Unmarshal(b, &info) == nil {
				le.PID, le.Host, le.Command, le.Since = info.PID, info.Host, info.Command, info.Started
			}
			return nil, le
		}
		return nil, fmt.Errorf("lock ledger %s: flock %s: %w", l.path, name, err)
	}
	host, _ := os.Hostname()
	b, _ := json.Marshal(lockInfo{PID: os.Getpid(), Host: host, Command: command, Started: l.Now().Truncate(time.Second)})
	if err := writeLockInfo(f, append(b, '\n')); err != nil {
		releaseLock(f)
		return nil, fmt.Errorf("lock ledger %s: write %s: %w", l.path, name, err)
	}
	l.lock = f
	var once sync.Once
	return func() error {
		var err error
		once.Do(func() {
			l.lmu.Lock()
			defer l.lmu.Unlock()
			if l.lock != f { // Close released it already
				return
			}
			l.lock = nil
			if rerr := releaseLock(f); rerr != nil {
				err = fmt.Errorf("unlock ledger %s: %w", l.path, rerr)
			}
		})
		return err
	}, nil
}

func writeLockInfo(f *os.File, b []byte) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt(b, 0)
	return err
}

// releaseLock empties the lock file (so a stale holder is never named) and
// releases it. The file itself stays: removing it would race with a
// process that has it open and is about to lock it.
func releaseLock(f *os.File) error {
	terr := f.Truncate(0)
	uerr := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	cerr := f.Close()
	return errors.Join(terr, uerr, cerr)
}

// lockHeld reports whether the ledger's run lock is held: by this Ledger
// (self) or by another process or Open (other). It does not wait.
func (l *Ledger) lockHeld() (self, other bool, err error) {
	l.lmu.Lock()
	self = l.lock != nil
	l.lmu.Unlock()
	if self {
		return true, false, nil
	}
	f, err := os.OpenFile(l.path+".lock", os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return false, true, nil
		}
		return false, false, err
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false, false, nil
}
