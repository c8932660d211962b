package lab

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/spf13/viper"
	"golang.org/x/crypto/ssh"
)

// Size limits on the files a lab file names or is.
const (
	MaxLabFile      = 1 << 20
	maxIdentityFile = 64 << 10
)

// MinPasswordLength is the shortest login.password accepted.
const MinPasswordLength = 8

// ReadSmallFile reads a regular file of at most max bytes. A FIFO, a
// device or a directory is refused without being read (opening a FIFO
// for reading would wait for a writer; /dev/zero never ends).
func ReadSmallFile(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", fileKind(info.Mode()))
	}
	if info.Size() > max {
		return nil, fmt.Errorf("larger than %s", size(max))
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("larger than %s", size(max))
	}
	return data, nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return m.Type().String()
}

func size(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

// explicitZeros refuses a count set to 0 in the file, the environment or
// a flag: 0 is how the lab says "not set", and must not quietly become
// the default.
func explicitZeros(v *viper.Viper, l *Lab) error {
	for _, f := range []struct {
		key   string
		value int
		max   int
	}{
		{"attendees", l.Attendees, MaxAttendees},
		{"nodesPerCluster", l.NodesPerCluster, MaxNodesPerCluster},
		{"ssh.parallel", l.SSH.Parallel, maxParallel},
	} {
		// An empty LABCTL_ATTENDEES is unset, like an empty field.
		if raw := v.Get(f.key); f.value == 0 && v.IsSet(f.key) && raw != nil && raw != "" {
			return fmt.Errorf("%s: 0 is out of range (1 to %d)", f.key, f.max)
		}
	}
	return nil
}

// checkPassword keeps login.password to what chpasswd and an attendee's
// keyboard take: printable ASCII, no ":", long enough to be a secret
// (and to be redacted from logs without shredding ordinary words).
func checkPassword(p string) error {
	for _, r := range p {
		if r < 0x20 || r > 0x7e {
			return errors.New("must be printable ASCII characters (no newline, tab or other control character)")
		}
	}
	if strings.Contains(p, ":") {
		return errors.New(`must not contain ":" (chpasswd separates the user from the password with it)`)
	}
	if len(p) < MinPasswordLength {
		return fmt.Errorf("%d characters; use at least %d (or leave it out: labctl generates one per cluster)", len(p), MinPasswordLength)
	}
	return nil
}

// checkIdentity reads an SSH private key the way the SSH engine will.
func checkIdentity(path string) error {
	data, err := ReadSmallFile(ExpandHome(path), maxIdentityFile)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("cannot read %s: %v", path, pe.Err)
		}
		return fmt.Errorf("%s: %v", path, err)
	}
	_, err = ssh.ParseRawPrivateKey(data)
	var pp *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &pp):
		return fmt.Errorf("%s is protected by a passphrase: add it to ssh-agent and leave this field out", path)
	case err != nil:
		return fmt.Errorf("%s is not an SSH private key (%v)", path, strings.TrimPrefix(err.Error(), "ssh: "))
	}
	return nil
}
