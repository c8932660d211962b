package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ErrStateDir marks a state directory labctl will not use.
var ErrStateDir = errors.New("not usable as a state directory")

// labctlFiles are what a directory holds once labctl has used it.
var labctlFiles = []string{stateFile, "lock"}

// prepareDir makes dir the lab's state directory, private to its owner
// (mode 0700): the state holds passwords and keys. A new directory is
// created. An existing one is taken only if it is this user's and either
// empty or already labctl's; anything else (a shared directory like /tmp,
// a home directory) is refused rather than having its mode changed.
func prepareDir(dir string) error {
	info, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("state directory: %w", err)
		}
		return private(dir)
	}
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	refuse := func(format string, a ...any) error {
		return &stateDirError{dir: dir, why: fmt.Sprintf(format, a...)}
	}
	if !info.IsDir() {
		return refuse("not a directory")
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		if int(st.Uid) != os.Geteuid() {
			return refuse("it belongs to uid %d", st.Uid)
		}
		if mode := st.Mode & 0o7777; mode&0o1000 != 0 {
			return refuse("it is shared (mode %04o)", mode)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	if len(entries) > 0 && !labctls(dir) {
		return refuse("it holds files that are not labctl's")
	}
	return private(dir)
}

func private(dir string) error {
	// MkdirAll's mode passes through the umask, and an empty directory
	// made for the state may be 0755.
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	return nil
}

// labctls says whether labctl has used dir as a state directory.
func labctls(dir string) bool {
	for _, f := range labctlFiles {
		if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

// stateDirError says why a directory is not used; it is ErrStateDir.
type stateDirError struct{ dir, why string }

func (e *stateDirError) Error() string {
	return fmt.Sprintf("state directory %s: %s; name a new directory (labctl creates it, mode 0700)", e.dir, e.why)
}

func (e *stateDirError) Is(target error) bool { return target == ErrStateDir }
