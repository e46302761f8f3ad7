package ledger

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// LockedError is returned by Lock when another process holds the ledger,
// and by Open and OpenReadOnly when another crmsync has the same file open
// under another name (OtherName). The holder's fields are zero when its
// lock file could not be read (it is written just after the lock is
// taken) or, with OtherName, are not known.
type LockedError struct {
	Path      string // the ledger's path
	PID       int
	Host      string
	Command   string
	Since     time.Time
	OtherName bool // the file is open under another name (hard link, bind mount)
}

func (e *LockedError) Error() string {
	if e.OtherName {
		return fmt.Sprintf("ledger %s is in use by another crmsync under another name (a hard link or bind mount of the same file); wait for it or stop it, and always give -ledger the same name", e.Path)
	}
	if e.PID == 0 {
		return fmt.Sprintf("ledger %s is in use by another crmsync; wait for it or stop it", e.Path)
	}
	cmd := e.Command
	if !strings.HasPrefix(cmd, "crmsync") {
		cmd = strings.TrimSpace("crmsync " + cmd)
	}
	// China time, as status, the reports and the logs show it.
	at, now := e.Since.In(cst), time.Now().In(cst)
	since := at.Format("2006-01-02 15:04:05")
	if at.Format("20060102") == now.Format("20060102") {
		since = at.Format("15:04:05")
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

// The locks live on the database file itself, so every name that reaches
// it (symlink, hard link, "..", bind mount) meets them. They are open file
// description (OFD) record locks on bytes far beyond the ones SQLite locks
// (around 1 GiB), taken on a descriptor this package keeps open for as
// long as SQLite may have the file open: closing any descriptor of a file
// drops all of the process's POSIX locks on it, SQLite's included, so this
// process never closes a descriptor of an open ledger early (see
// fileHandle). OFD locks, unlike POSIX ones, belong to the descriptor and
// are dropped only when it closes, or when the process dies however it
// dies. F_OFD_GETLK tests a lock without taking it, so probing (status,
// reconcile) never makes a starting run fail.
const (
	runByte   = 1 << 40     // write-locked by the run holding the ledger
	nameBytes = runByte + 1 // one byte per name, read-locked by every Open
	nameSlots = 1 << 24
)

// nameSlot is the byte that stands for a ledger's canonical name. Two
// names sharing a byte (1 in 16M) would not be told apart.
func nameSlot(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return nameBytes + int64(h.Sum64()%nameSlots)
}

// inode identifies a file whatever name reaches it.
type inode struct{ dev, ino uint64 }

func inodeOf(fi fs.FileInfo) inode {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return inode{}
	}
	return inode{uint64(st.Dev), uint64(st.Ino)}
}

// links is the number of names (hard links) of a file.
func links(fi fs.FileInfo) int {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 1
	}
	return int(st.Nlink)
}

// fileHandle is this process's hold on one ledger file, shared by every
// Ledger of the process open on it: the descriptors are closed only when
// the last of them has closed its database.
type fileHandle struct {
	key   inode
	name  string     // the canonical name (symlinks resolved)
	f     *os.File   // holds the name lock
	rw    *os.File   // writable descriptor for the run lock (f when f is writable)
	extra []*os.File // descriptors opened in a race, closed with the rest
	refs  int
	run   *lockInfo // the run lock, when a Ledger of this process holds it
	side  *os.File  // the flocked side file while run is set
}

var handles = struct {
	sync.Mutex
	m map[inode]*fileHandle
}{m: map[inode]*fileHandle{}}

// acquire resolves path to the file it names and returns this process's
// handle on it, creating the file when create is set. It refuses a
// directory, a non-regular file, an existing empty file, a file with hard
// links, and a file that another crmsync has open under another name (a
// bind mount: *LockedError with OtherName). SQLite names the -wal file
// after the name it is given, so two names of one file would write two
// logs and damage it, and one name would not see what was committed in
// the other's log (after a crash, a whole run).
func acquire(path string, create bool, mode os.FileMode) (*fileHandle, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, openErr(path, err)
	}
	handles.Lock()
	defer handles.Unlock()
	fi, err := os.Stat(abs)
	switch {
	case err == nil:
		if fi.IsDir() {
			return nil, &FileError{Path: path, Problem: ProblemDirectory}
		}
		if !fi.Mode().IsRegular() {
			return nil, &FileError{Path: path, Problem: ProblemNotRegular}
		}
		if n := links(fi); n > 1 {
			return nil, &FileError{Path: path, Problem: ProblemLinked, Links: n}
		}
		if h := handles.m[inodeOf(fi)]; h != nil {
			return h.share(path, abs)
		}
		if fi.Size() == 0 && !beingCreated(abs) {
			return nil, &FileError{Path: path, Problem: ProblemEmpty}
		}
	case errors.Is(err, fs.ErrNotExist) && create:
	case errors.Is(err, fs.ErrNotExist):
		return nil, &FileError{Path: path, Problem: ProblemMissing}
	default:
		return nil, openErr(path, err)
	}
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE
	} else {
		flag = os.O_RDONLY
	}
	existed := err == nil
	f, err := os.OpenFile(abs, flag, mode)
	if err != nil && !create && errors.Is(err, fs.ErrPermission) {
		return nil, &FileError{Path: path, Problem: ProblemUnreadable, Err: err}
	}
	if err != nil {
		return nil, openErr(path, err)
	}
	if !existed && create {
		// The mode exactly, whatever the umask: SQLite gives the -wal and
		// -shm files the database file's mode.
		if err := f.Chmod(mode); err != nil {
			f.Close()
			return nil, openErr(path, err)
		}
	}
	fi, err = f.Stat()
	if err != nil {
		f.Close()
		return nil, openErr(path, err)
	}
	key := inodeOf(fi)
	if h := handles.m[key]; h != nil {
		// Replaced under our feet by a file this process has open: keep
		// the descriptor (closing it would drop SQLite's locks).
		h.extra = append(h.extra, f)
		return h.share(path, abs)
	}
	if n := links(fi); n > 1 {
		f.Close() // no handle: no Ledger of this process has it open
		return nil, &FileError{Path: path, Problem: ProblemLinked, Links: n}
	}
	name, err := filepath.EvalSymlinks(abs)
	if err != nil {
		f.Close()
		return nil, openErr(path, err)
	}
	slot := nameSlot(name)
	if err := ofdLock(f, syscall.F_RDLCK, slot); err != nil {
		f.Close()
		return nil, fmt.Errorf("open ledger %s: lock: %w", path, err)
	}
	for _, r := range [][2]int64{{nameBytes, slot - nameBytes}, {slot + 1, nameBytes + nameSlots - slot - 1}} {
		if r[1] == 0 {
			continue
		}
		other, err := ofdTest(f, r[0], r[1])
		if err == nil && other {
			err = &LockedError{Path: path, OtherName: true}
		}
		if err != nil {
			// No Ledger of this process has the file open (it has no
			// handle): closing this descriptor drops no SQLite lock.
			f.Close()
			return nil, err
		}
	}
	h := &fileHandle{key: key, name: name, f: f, refs: 1}
	if create {
		h.rw = f
	}
	handles.m[key] = h
	return h, nil
}

// beingCreated reports whether another crmsync has the empty file at path
// open: it is a new ledger that its creator has not written yet, not a
// damaged one. The caller holds handles, and no Ledger of this process has
// the file open, so opening and closing a descriptor drops no lock.
func beingCreated(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	held, err := ofdTest(f, runByte, nameBytes+nameSlots-runByte)
	return err == nil && held
}

// share is acquire for a file this process has open already. The caller
// holds handles.
func (h *fileHandle) share(path, abs string) (*fileHandle, error) {
	name, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, openErr(path, err)
	}
	if name != h.name {
		return nil, &LockedError{Path: path, OtherName: true}
	}
	h.refs++
	return h, nil
}

// release gives back a handle from acquire, once its Ledger's database is
// closed: the last one closes the descriptors.
func (h *fileHandle) release() error {
	handles.Lock()
	defer handles.Unlock()
	h.refs--
	if h.refs > 0 {
		return nil
	}
	delete(handles.m, h.key)
	errs := []error{h.f.Close()}
	if h.rw != nil && h.rw != h.f {
		errs = append(errs, h.rw.Close())
	}
	for _, f := range h.extra {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// ofdLock takes (typ F_RDLCK or F_WRLCK) or releases (F_UNLCK) an OFD lock
// on byte at of f without waiting; EAGAIN means another holds it.
func ofdLock(f *os.File, typ int16, at int64) error {
	lk := syscall.Flock_t{Type: typ, Whence: io.SeekStart, Start: at, Len: 1}
	return syscall.FcntlFlock(f.Fd(), fOFDSetLK, &lk)
}

// ofdTest reports whether another open file description holds a lock on
// any of the n bytes from at of f's file.
func ofdTest(f *os.File, at, n int64) (bool, error) {
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart, Start: at, Len: n}
	if err := syscall.FcntlFlock(f.Fd(), fOFDGetLK, &lk); err != nil {
		return false, err
	}
	return lk.Type != syscall.F_UNLCK, nil
}

// Lock takes the single-run lock of the ledger: a write lock on the
// database file itself (see runByte), which the kernel releases when the
// process ends however it ends, so a killed run never leaves the ledger
// locked, and which every name of the file meets. The side file
// name+".lock" records the holder's pid, host, command and start time for
// the refusal (and is flocked too, which is what older crmsyncs look at).
// When another process (or another Open in this process) holds the lock,
// Lock returns a *LockedError naming it at once; it does not wait. unlock
// releases the lock and may be called any number of times; Close also
// releases it.
func (l *Ledger) Lock(command string) (unlock func() error, err error) {
	l.lmu.Lock()
	defer l.lmu.Unlock()
	if l.locked {
		return nil, fmt.Errorf("lock ledger %s: already locked by this process", l.path)
	}
	h := l.file
	handles.Lock()
	defer handles.Unlock()
	if h.run != nil {
		info := h.run
		return nil, &LockedError{Path: l.path, PID: info.PID, Host: info.Host, Command: info.Command, Since: info.Started}
	}
	if h.rw == nil {
		f, err := os.OpenFile(h.name, os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("lock ledger %s: %w", l.path, fileErr(l.path, err))
		}
		h.rw = f
	}
	name := h.name + ".lock"
	if err := ofdLock(h.rw, syscall.F_WRLCK, runByte); err != nil {
		if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) {
			return nil, lockedBy(l.path, name)
		}
		return nil, fmt.Errorf("lock ledger %s: %w", l.path, err)
	}
	// The side file gets the database file's mode, like SQLite's -wal.
	mode := os.FileMode(0o600)
	if fi, err := h.rw.Stat(); err == nil {
		mode = fi.Mode().Perm()
	}
	side, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, mode)
	if err == nil {
		_ = side.Chmod(mode) // whatever the umask, or an older crmsync, made it
		if err = syscall.Flock(int(side.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			side.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				ofdLock(h.rw, syscall.F_UNLCK, runByte)
				return nil, lockedBy(l.path, name)
			}
			err = fmt.Errorf("flock %s: %w", name, err)
		}
	}
	if err != nil {
		ofdLock(h.rw, syscall.F_UNLCK, runByte)
		return nil, fmt.Errorf("lock ledger %s: %w", l.path, fileErr(l.path, err))
	}
	host, _ := os.Hostname()
	info := lockInfo{PID: os.Getpid(), Host: host, Command: command, Started: l.Now().Truncate(time.Second)}
	b, _ := json.Marshal(info)
	if err := writeLockInfo(side, append(b, '\n')); err != nil {
		releaseSide(side)
		ofdLock(h.rw, syscall.F_UNLCK, runByte)
		return nil, fmt.Errorf("lock ledger %s: write %s: %w", l.path, name, fileErr(l.path, err))
	}
	h.run, h.side = &info, side
	l.locked = true
	var once sync.Once
	return func() error {
		var err error
		once.Do(func() { err = l.unlock() })
		return err
	}, nil
}

// unlock releases the run lock if this Ledger holds it.
func (l *Ledger) unlock() error {
	l.lmu.Lock()
	defer l.lmu.Unlock()
	if !l.locked {
		return nil
	}
	l.locked = false
	h := l.file
	handles.Lock()
	defer handles.Unlock()
	serr := releaseSide(h.side)
	uerr := ofdLock(h.rw, syscall.F_UNLCK, runByte)
	h.run, h.side = nil, nil
	if err := errors.Join(serr, uerr); err != nil {
		return fmt.Errorf("unlock ledger %s: %w", l.path, err)
	}
	return nil
}

// lockedBy is the refusal of a lock held by another process, naming it
// from the side file when it can be read.
func lockedBy(path, side string) *LockedError {
	le := &LockedError{Path: path}
	var info lockInfo
	if b, err := os.ReadFile(side); err == nil && json.Unmarshal(b, &info) == nil {
		le.PID, le.Host, le.Command, le.Since = info.PID, info.Host, info.Command, info.Started
	}
	return le
}

func writeLockInfo(f *os.File, b []byte) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt(b, 0)
	return err
}

// releaseSide empties the side file (so a stale holder is never named) and
// releases it. The file itself stays: removing it would race with a
// process that has it open and is about to lock it.
func releaseSide(f *os.File) error {
	terr := f.Truncate(0)
	uerr := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	cerr := f.Close()
	return errors.Join(terr, uerr, cerr)
}

// lockHeld reports whether the ledger's run lock is held: by this Ledger
// (self) or by another process or Open (other). It does not wait, and it
// takes nothing, so it never makes another's Lock fail.
func (l *Ledger) lockHeld() (self, other bool, err error) {
	l.lmu.Lock()
	defer l.lmu.Unlock()
	if l.locked {
		return true, false, nil
	}
	handles.Lock()
	defer handles.Unlock()
	if l.file.run != nil {
		return false, true, nil
	}
	other, err = ofdTest(l.file.f, runByte, 1)
	return false, other, err
}
