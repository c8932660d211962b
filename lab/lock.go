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
	dir  string
	lock *os.File
	// dry: a dry run reads the state and never writes it.
	dry bool
}

// ErrBusy is returned when another labctl holds the lab.
var ErrBusy = errors.New("lab is in use by another labctl")

// Open locks the state directory dir, creating it (0700) if needed; an
// existing directory that is not labctl's is refused (ErrStateDir). If
// another process holds it, Open waits up to wait, then refuses with ErrBusy
// and says who holds it. purpose ("labctl up") is shown to that other process.
func Open(dir string, wait time.Duration, purpose string) (*Store, error) {
	if err := prepareDir(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	path := filepath.Join(dir, "lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state lock: %w", err)
	}
	deadline := time.Now().Add(wait)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("state lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			holder, _ := os.ReadFile(path)
			f.Close()
			who := strings.TrimSpace(string(holder))
			if who == "" {
				who = "unknown process"
			}
			return nil, fmt.Errorf("%w (%s); wait for it to finish or pass --wait 10m: %s", ErrBusy, who, dir)
		}
		time.Sleep(100 * time.Millisecond)
	}
	info := fmt.Sprintf("pid %d, %s, since %s\n", os.Getpid(), purpose, time.Now().Format("15:04:05"))
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(info), 0)
	}
	return &Store{dir: dir, lock: f}, nil
}

// OpenDryRun is Open for a dry run: the store reads the state but Save
// writes nothing, and a state directory that does not exist yet is not
// created (the lab then has an empty state).
func OpenDryRun(dir string, wait time.Duration, purpose string) (*Store, error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return &Store{dir: dir, dry: true}, nil
	}
	st, err := Open(dir, wait, purpose)
	if err != nil {
		return nil, err
	}
	st.dry = true
	return st, nil
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
	_ = st.lock.Truncate(0)
	err := st.lock.Close() // closing the descriptor releases the flock
	st.lock = nil
	return err
}
