package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Store is a lab's state directory, held under an exclusive lock so two
// labctl processes never change one lab at once.
type Store struct {
	dir string
	// name is the lab's: a state of another lab is refused.
	name string
	lock *os.File
	// dry: a dry run reads the state and never writes it.
	dry bool
}

// ErrBusy is returned when another labctl holds the lab.
var ErrBusy = errors.New("lab is in use by another labctl")

// Open locks the state directory dir of the lab named name, creating it
// (0700) if needed. An existing directory that is not labctl's, or holds
// another lab's state, is refused (ErrStateDir), and so is a state file
// labctl cannot read (ErrBadState), before anything in it is written. If
// another process holds it, Open waits up to wait, then refuses with ErrBusy
// and says who holds it. purpose ("labctl up") is shown to that other process.
func Open(dir, name string, wait time.Duration, purpose string) (*Store, error) {
	if _, err := prepareDir(dir, name, false); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	path := filepath.Join(dir, "lock")
	f, err := openLock(path, os.O_RDWR|os.O_CREATE)
	if err != nil {
		return nil, err
	}
	if err := flock(f, syscall.LOCK_EX, wait, dir); err != nil {
		return nil, err
	}
	info := fmt.Sprintf("pid %d, %s, since %s\n", os.Getpid(), purpose, time.Now().Format("15:04:05"))
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(info), 0)
	}
	return &Store{dir: dir, name: name, lock: f}, nil
}

// OpenDryRun is Open for a dry run: the store reads the state but Save
// writes nothing, and nothing in the directory is created or changed (no
// directory, no logs/, no lock file, no mode). It waits for a labctl that
// is changing the lab, through a shared lock on an existing lock file.
func OpenDryRun(dir, name string, wait time.Duration, purpose string) (*Store, error) {
	if _, err := prepareDir(dir, name, true); err != nil {
		return nil, err
	}
	st := &Store{dir: dir, name: name, dry: true}
	f, err := openLock(filepath.Join(dir, "lock"), os.O_RDONLY)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	if err := flock(f, syscall.LOCK_SH, wait, dir); err != nil {
		return nil, err
	}
	st.lock = f
	return st, nil
}

// openLock opens the lock file, refusing anything but a regular file (a
// FIFO would block the open, a symbolic link would lead elsewhere).
func openLock(path string, flags int) (*os.File, error) {
	f, err := os.OpenFile(path, flags|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("state lock %s: %w", path, err)
	}
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("state lock %s: not a regular file", path)
	}
	return f, nil
}

// flock takes the lock how (LOCK_EX or LOCK_SH), waiting up to wait.
func flock(f *os.File, how int, wait time.Duration, dir string) error {
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return fmt.Errorf("state lock %s: %w", f.Name(), err)
		}
		if time.Now().After(deadline) {
			holder, _ := ReadSmallFile(f.Name(), 4096)
			f.Close()
			who := strings.TrimSpace(string(holder))
			if who == "" {
				who = "unknown process"
			}
			return fmt.Errorf("%w (%s); wait for it to finish or pass --wait 10m: %s", ErrBusy, who, dir)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Dir is the state directory.
func (st *Store) Dir() string { return st.dir }

// LogDir holds one log file per host.
func (st *Store) LogDir() string { return filepath.Join(st.dir, "logs") }

// Close releases the lock.
func (st *Store) Close() error {
	if st.lock == nil {
		return nil
	}
	if !st.dry {
		_ = st.lock.Truncate(0)
	}
	err := st.lock.Close() // closing the descriptor releases the flock
	st.lock = nil
	return err
}

// Forget removes everything the lab's state directory holds but its lock
// and marker: the state, baselines, logs, keys and the provider's files,
// once the lab's machines are gone. A later lab of the same name starts
// from nothing (no old baseline, no old key).
func (st *Store) Forget() error {
	if st.dry {
		return nil
	}
	entries, err := os.ReadDir(st.dir)
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	for _, e := range entries {
		if e.Name() == "lock" || e.Name() == markerFile {
			continue
		}
		if err := os.RemoveAll(filepath.Join(st.dir, e.Name())); err != nil {
			return fmt.Errorf("state directory: %w", err)
		}
	}
	return nil
}
