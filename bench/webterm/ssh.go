package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// The agent's resident memory, read from /proc on node1 over an SSH
// connection of the attendee's own (/proc/PID/status is readable by every
// user; the agent runs as its own unprivileged user).
const rssCommand = `p=$(pgrep -xo labctl-webterm) && grep '^VmRSS:' /proc/$p/status`

func agentRSS(addr, user, password string, pinned ssh.PublicKey) (int, error) {
	c, err := dial(addr, user, password, pinned)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return readRSS(c)
}

func readRSS(c *ssh.Client) (int, error) {
	s, err := c.NewSession()
	if err != nil {
		return 0, err
	}
	defer s.Close()
	out, err := s.Output(rssCommand)
	if err != nil {
		return 0, fmt.Errorf("%s: %v: %s", rssCommand, err, out)
	}
	f := strings.Fields(string(out)) // VmRSS: 7212 kB
	if len(f) != 3 {
		return 0, fmt.Errorf("%s printed %q", rssCommand, out)
	}
	return strconv.Atoi(f[1])
}

// peakRSS samples the agent's memory every half second until stop, and
// returns the largest figure seen (0 if none could be read).
func peakRSS(addr, user, password string, pinned ssh.PublicKey, stop <-chan struct{}) int {
	c, err := dial(addr, user, password, pinned)
	if err != nil {
		return 0
	}
	defer c.Close()
	top := 0
	for {
		if kb, err := readRSS(c); err == nil && kb > top {
			top = kb
		}
		select {
		case <-stop:
			return top
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// dial logs in as the attendee. Like the web terminal's agent, it tries a
// handshake that sshd dropped (MaxStartups: many unauthenticated
// connections at once) again, twice, so that both sides of the comparison
// get the same chances.
func dial(addr, user, password string, pinned ssh.PublicKey) (*ssh.Client, error) {
	var err error
	for try, wait := 0, 200*time.Millisecond; try < 3; try, wait = try+1, wait*3 {
		var c *ssh.Client
		c, err = ssh.Dial("tcp", addr, &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.Password(password)},
			HostKeyCallback: ssh.FixedHostKey(pinned), HostKeyAlgorithms: []string{pinned.Type()}, Timeout: 10 * time.Second})
		if err == nil || !strings.Contains(err.Error(), "connection reset by peer") && !errors.Is(err, io.EOF) {
			return c, err
		}
		time.Sleep(wait)
	}
	return nil, err
}
