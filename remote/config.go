package remote

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Host is one SSH endpoint.
type Host struct {
	Name string // label in output and logs, e.g. "03/node2"
	// Cluster and Node say which lab node this host is (Node is empty
	// for a host that is no node, such as the bastion): what code reads
	// instead of parsing Name.
	Cluster int
	Node    string
	Address string
	Port    int
	// HostKey is the pinned host key in authorized_keys format. Empty means
	// trust on first use: the key offered is accepted and given to Config.Pin.
	HostKey string
	// Runtime, when set ("podman", "docker"), says the host is a container
	// on this machine with no sshd (a kind node): commands run through
	// `RUNTIME exec Container`, and SSH settings do not apply.
	Runtime   string
	Container string
}

// Addr is host:port.
func (h Host) Addr() string {
	port := h.Port
	if port == 0 {
		port = 22
	}
	return net.JoinHostPort(h.Address, strconv.Itoa(port))
}

// Config is how the engine logs in and how patient it is.
type Config struct {
	// ContainerEnv is added to the environment of the container runtime
	// commands that reach container hosts (Host.Runtime), e.g. the
	// CONTAINERS_CONF a node was made with.
	ContainerEnv []string
	User         string
	Signers      []ssh.Signer
	// Password is the nodes' login password; the bastion never gets it.
	Password string
	// Bastion is a jump host; BastionUser logs into it (default User).
	Bastion     *Host
	BastionUser string

	// DialTimeout bounds the first connection attempt (default 10s); an
	// attempt that timed out gives the next one twice as long, up to 4x.
	DialTimeout time.Duration
	// RetryWindow is how long a lone host's refused or timed-out dials are
	// retried (default 30s); with Hosts it makes the budget (see Budget).
	RetryWindow time.Duration
	// Hosts is how many hosts the run drives: the budget of each grows
	// with it (see BudgetFor).
	Hosts int
	// Budget, when set, replaces BudgetFor(RetryWindow, Hosts).
	Budget time.Duration
	// Handshakes bounds the handshakes in flight at once (default
	// DefaultHandshakes; the limit adapts below it, see limiter).
	Handshakes int
	// AuthRetryWindow is how long a refused login is retried: a fresh VM may
	// not have its key installed yet (default 20s).
	AuthRetryWindow time.Duration
	// KeepAlive is the interval between keepalive requests (default 15s).
	KeepAlive time.Duration

	// LogDir receives one log file per host (none when empty).
	LogDir string
	// Secrets are redacted from logs and errors.
	Secrets []string
	// Pin records a host key seen for the first time. Without it, a host with
	// no pinned key is refused.
	Pin func(h Host, key string) error
	// MismatchHint tells the user how to accept a changed key on purpose.
	MismatchHint func(h Host) string
}

func (c *Config) setDefaults() {
	if c.DialTimeout == 0 {
		c.DialTimeout = 10 * time.Second
	}
	if c.RetryWindow == 0 {
		c.RetryWindow = 30 * time.Second
	}
	if c.AuthRetryWindow == 0 {
		c.AuthRetryWindow = 20 * time.Second
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = 15 * time.Second
	}
	if c.BastionUser == "" {
		c.BastionUser = c.User
	}
}

// LoadSigners returns the signers from an identity file (when given) and
// from ssh-agent (when SSH_AUTH_SOCK is set). Errors name the file.
func LoadSigners(identityFile string) ([]ssh.Signer, error) {
	var signers []ssh.Signer
	if identityFile != "" {
		data, err := os.ReadFile(identityFile)
		if err != nil {
			return nil, fmt.Errorf("identity file %s: %w", identityFile, err)
		}
		s, err := ssh.ParsePrivateKey(data)
		var pp *ssh.PassphraseMissingError
		if errors.As(err, &pp) {
			return nil, fmt.Errorf("identity file %s is protected by a passphrase: add it to ssh-agent instead", identityFile)
		}
		if err != nil {
			return nil, fmt.Errorf("identity file %s: %w", identityFile, err)
		}
		signers = append(signers, s)
	}
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
		if conn, err := net.Dial("unix", sock); err == nil {
			// The agent connection lives as long as labctl: signing needs it.
			if agentSigners, err := agent.NewClient(conn).Signers(); err == nil {
				signers = append(signers, agentSigners...)
			}
		}
	}
	if len(signers) == 0 && identityFile == "" {
		return nil, errors.New("no SSH key: set ssh.identityFile or start ssh-agent")
	}
	return signers, nil
}
