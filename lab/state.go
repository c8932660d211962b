package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// StateVersion is bumped when the state file's shape changes incompatibly.
const StateVersion = 1

// State is everything labctl learned or decided about a lab.
type State struct {
	Version  int           `json:"version"`
	Lab      string        `json:"lab"`
	Provider ProviderState `json:"provider"`
	Clusters []Cluster     `json:"clusters"`
	// Bastion is the jump host's pinned key (ssh.bastion without hostKey).
	Bastion *PinnedHost `json:"bastion,omitempty"`
	// EndsAt is the class's end as the last up read it (labctl sweep
	// reads it without the lab file).
	EndsAt *time.Time `json:"endsAt,omitempty"`
	// Attendees says which cluster serves which attendee: attendee number
	// → cluster number; the clusters that serve nobody are spares. nil (a
	// lab that never had spares, or a state written before them): every
	// cluster serves the attendee of its own number. See Seat.
	Attendees map[int]int `json:"attendees,omitempty"`
}

// BastionLabel names the jump host in output, logs and pins.
const BastionLabel = "bastion"

// PinnedHost is a host key pinned for an address ("host:port"): a bastion
// moved to another address is another host.
type PinnedHost struct {
	Addr    string `json:"addr"`
	HostKey string `json:"hostKey"`
}

// ProviderState is what a provider remembers (network, image, key...).
type ProviderState struct {
	Type  string            `json:"type"`
	Extra map[string]string `json:"extra,omitempty"`
}

// PhaseResult is the outcome of a phase on one cluster.
type PhaseResult struct {
	OK    bool      `json:"ok"`
	At    time.Time `json:"at"`
	Step  string    `json:"step,omitempty"`
	Error string    `json:"error,omitempty"`
}

// Cluster returns cluster n (1-based), or nil.
func (s *State) Cluster(n int) *Cluster {
	for i := range s.Clusters {
		if s.Clusters[i].Index == n {
			return &s.Clusters[i]
		}
	}
	return nil
}

// Pin records key as the host key of node of cluster, or of the bastion
// at addr when node is "" (remote.Host's Cluster and Node); an unknown node
// is ignored.
func (s *State) Pin(cluster int, node, addr, key string) {
	if node == "" {
		s.Bastion = &PinnedHost{Addr: addr, HostKey: key}
		return
	}
	if cl := s.Cluster(cluster); cl != nil {
		if n := cl.Node(node); n != nil {
			n.HostKey = key
		}
	}
}

// BastionHostKey is the key pinned for the bastion at addr, if any.
func (s *State) BastionHostKey(addr string) string {
	if s.Bastion == nil || s.Bastion.Addr != addr {
		return ""
	}
	return s.Bastion.HostKey
}

// Secrets lists every secret in the state, for redaction from logs.
func (s *State) Secrets() []string {
	var out []string
	for _, c := range s.Clusters {
		if c.Login.Password != "" {
			out = append(out, c.Login.Password)
		}
		if c.Key != nil && c.Key.Private != "" {
			out = append(out, c.Key.Private)
		}
		for _, line := range strings.Split(c.Kubeconfig, "\n") {
			if _, v, ok := strings.Cut(line, "client-key-data:"); ok && strings.TrimSpace(v) != "" {
				out = append(out, strings.TrimSpace(v))
			}
		}
	}
	return out
}

// Node returns the named node of the cluster, or nil.
// FirstNode is the node kubeadm made the control plane: node1, or the
// first node of a cluster without one ("" when it has none).
func (c *Cluster) FirstNode() string {
	if c.Node("node1") != nil {
		return "node1"
	}
	if len(c.Nodes) > 0 {
		return c.Nodes[0].Name
	}
	return ""
}

func (c *Cluster) Node(name string) *Node {
	for i := range c.Nodes {
		if c.Nodes[i].Name == name {
			return &c.Nodes[i]
		}
	}
	return nil
}

// SetPhase records a phase's outcome on the cluster.
func (c *Cluster) SetPhase(phase string, r PhaseResult) {
	if c.Phases == nil {
		c.Phases = map[string]PhaseResult{}
	}
	c.Phases[phase] = r
}

const stateFile = "state.json"

// DefaultStateDir is where a lab's state lives unless --state-dir says
// otherwise: $XDG_DATA_HOME/labctl/NAME (~/.local/share/labctl/NAME).
func DefaultStateDir(name string) (string, error) {
	base := os.Getenv("XDG_DATA_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("state directory: %w", err)
		}
		base = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(base, "labctl", name), nil
}

// MaxStateFile bounds state.json: a few KiB per cluster.
const MaxStateFile = 64 << 20

// ErrBadState marks a state.json labctl will not use: not the regular file
// it wrote, too big, damaged, or of another version. Nothing is changed.
var ErrBadState = errors.New("state file not usable")

// badStateError is a one-line reason; it is ErrBadState.
type badStateError struct{ msg string }

func (e *badStateError) Error() string        { return e.msg }
func (e *badStateError) Is(target error) bool { return target == ErrBadState }

func badState(format string, a ...any) error {
	return &badStateError{msg: fmt.Sprintf(format, a...)}
}

// ReadState reads the state in dir without taking the lock; the atomic
// writes guarantee it sees a whole file. A lab never brought up has none.
func ReadState(dir string) (*State, error) {
	path := filepath.Join(dir, stateFile)
	info, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no state in %s: run `labctl up` first", dir)
	}
	if err != nil {
		return nil, badState("state: %v", err)
	}
	if info.Mode()&os.ModeSymlink != 0 {
		return nil, badState("state %s: a symbolic link, not the file labctl wrote", path)
	}
	// A regular file of bounded size: /dev/zero or a FIFO in its place
	// must not exhaust memory or block.
	data, err := ReadSmallFile(path, MaxStateFile)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, badState("state %s: %v", path, err)
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, badState("state %s is damaged: %v", path, err)
	}
	if s.Version != StateVersion {
		return nil, badState("state %s has version %d; this labctl reads version %d", path, s.Version, StateVersion)
	}
	return &s, nil
}

// Load reads the locked lab's state; a new lab gets an empty one. The
// state is read again under the lock and must still be this lab's.
func (st *Store) Load() (*State, error) {
	s, err := ReadState(st.dir)
	if err != nil {
		if _, statErr := os.Lstat(filepath.Join(st.dir, stateFile)); errors.Is(statErr, os.ErrNotExist) {
			return &State{Version: StateVersion}, nil
		}
		return nil, err
	}
	if err := s.CheckLab(st.dir, st.name); err != nil {
		return nil, err
	}
	return s, nil
}

// Save writes the state atomically, readable by its owner only; in a dry
// run it writes nothing.
func (st *Store) Save(s *State) error {
	if st.dry {
		return nil
	}
	s.Version = StateVersion
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	return WriteFileAtomic(filepath.Join(st.dir, stateFile), append(data, '\n'), 0o600)
}

// beforeRename lets a test stop a write between fsync and rename.
var beforeRename = func() {}

// WriteFileAtomic writes data to a temporary file beside path, syncs it and
// renames it over path, so a crash leaves either the old or the new file.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	beforeRename()
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	ok = true
	// The rename is durable only once the directory entry is synced.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
