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

// markerFile is written when labctl creates a state directory, so a
// directory it made is known as its own before state.json exists.
const markerFile = ".labctl-state"

// prepareDir makes dir the lab's state directory, private to its owner
// (mode 0700): the state holds passwords and keys. A new directory is
// created (0700) and marked. An existing one is taken only if it is this
// user's, not writable by others, and either empty or already labctl's:
// its state.json (or the marker labctl writes when it creates the
// directory) is a regular file of this user's, mode 0600. A file merely
// named like one of labctl's (a "lock" in /var or /run) is not enough.
// labctl never changes the mode of a directory it did not create. Its
// state.json must be one labctl can read, of the lab named name. Every
// check comes before the first write. With check set (a dry run) nothing
// is created.
func prepareDir(dir, name string, check bool) (*State, error) {
	empty := &State{Version: StateVersion}
	info, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		if check {
			return empty, nil
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("state directory: %w", err)
		}
		// MkdirAll's mode passes through the umask.
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, fmt.Errorf("state directory: %w", err)
		}
		return empty, WriteFileAtomic(filepath.Join(dir, markerFile), []byte("labctl state directory\n"), 0o600)
	}
	if err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	refuse := func(format string, a ...any) (*State, error) {
		return nil, &stateDirError{dir: dir, why: fmt.Sprintf(format, a...)}
	}
	if info.Mode()&os.ModeSymlink != 0 {
		return refuse("it is a symbolic link")
	}
	if !info.IsDir() {
		return refuse("not a directory")
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		if int(st.Uid) != os.Geteuid() {
			return refuse("it belongs to uid %d", st.Uid)
		}
		mode := st.Mode & 0o7777
		if mode&0o1000 != 0 {
			return refuse("it is shared (mode %04o)", mode)
		}
		if mode&0o022 != 0 {
			return refuse("others can write to it (mode %04o)", mode)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	if len(entries) > 0 && !labctls(dir) {
		return refuse("it holds files that are not labctl's")
	}
	s, err := readLabState(dir, name)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 && !check {
		// An empty directory of this user's becomes labctl's.
		return s, WriteFileAtomic(filepath.Join(dir, markerFile), []byte("labctl state directory\n"), 0o600)
	}
	return s, nil
}

// labctls says whether labctl has used dir as a state directory: its
// state.json or its marker is a regular file of this user's, mode 0600.
func labctls(dir string) bool {
	for _, f := range []string{stateFile, markerFile} {
		if ownPrivateFile(filepath.Join(dir, f)) {
			return true
		}
	}
	return false
}

func ownPrivateFile(path string) bool {
	info, err := os.Lstat(path)
	if err != nil || !info.Mode().IsRegular() || info.Mode().Perm() != 0o600 {
		return false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}

// stateDirError says why a directory is not used; it is ErrStateDir.
type stateDirError struct{ dir, why string }

func (e *stateDirError) Error() string {
	return fmt.Sprintf("state directory %s: %s; name a new directory (labctl creates it, mode 0700)", e.dir, e.why)
}

func (e *stateDirError) Is(target error) bool { return target == ErrStateDir }

// PeekState checks dir as Open does and reads its state, without the
// lock and writing nothing, so that bad input is refused before the lock
// (whose note is a write) is taken. A lab never brought up has an empty
// state; a directory that is not labctl's, a state labctl cannot read, or
// another lab's, is refused.
func PeekState(dir, name string) (*State, error) {
	return prepareDir(dir, name, true)
}

// readLabState reads the state in dir, which must be the lab named
// name's; no state is an empty one.
func readLabState(dir, name string) (*State, error) {
	if _, err := os.Lstat(filepath.Join(dir, stateFile)); errors.Is(err, os.ErrNotExist) {
		return &State{Version: StateVersion}, nil
	}
	s, err := ReadState(dir)
	if err != nil {
		return nil, err
	}
	if err := s.CheckLab(dir, name); err != nil {
		return nil, err
	}
	return s, nil
}

// CheckLab refuses a state that belongs to another lab: a state directory
// named by --state-dir (or shared by mistake) must be this lab's, or
// destroy with lab A's file would delete lab B's machines and state.
func (s *State) CheckLab(dir, name string) error {
	if s.Lab == "" || s.Lab == name {
		return nil
	}
	return &stateDirError{dir: dir, why: fmt.Sprintf("it holds the state of lab %q, not of %q (the lab file's name)", s.Lab, name)}
}
