package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/provision/inventory"
	"github.com/labctl/labctl/provision/kind"
	"github.com/labctl/labctl/provision/local"
	"github.com/labctl/labctl/provision/pulumi"
	"github.com/labctl/labctl/remote"
)

// providerFor returns the provider the lab file names.
func providerFor(l *lab.Lab) (provision.Provider, error) {
	switch l.Provider.Type {
	case "local":
		return local.New(), nil
	case "inventory":
		return inventory.Provider{}, nil
	case "pulumi":
		return pulumi.New(), nil
	case "kind":
		return kind.New(), nil
	}
	return nil, fmt.Errorf("provider %s: %w (use local, inventory, pulumi or kind)", l.Provider.Type, errUnavailable)
}

// engineFor builds the SSH engine for a lab. pin records first-seen host keys.
func engineFor(l *lab.Lab, dir string, s *lab.State, pin func(remote.Host, string) error) (*remote.Engine, error) {
	p, err := providerFor(l)
	if err != nil {
		return nil, err
	}
	if kp, ok := p.(*kind.Provider); ok {
		// kind nodes have no sshd: commands go through the container runtime.
		env, err := kp.Env(context.Background())
		if err != nil {
			return nil, err
		}
		return remote.NewEngine(remote.Config{ContainerEnv: env, LogDir: dir + "/logs", Secrets: s.Secrets()}), nil
	}
	signers, err := remote.LoadSigners(p.Identity(provision.Request{Lab: l, StateDir: dir}))
	if err != nil {
		return nil, badInput("ssh.identityFile: %v", err)
	}
	timeout, _ := time.ParseDuration(l.SSH.Timeout)
	cfg := remote.Config{
		User:        l.SSH.User,
		Signers:     signers,
		Password:    l.SSH.Password,
		DialTimeout: timeout,
		Hosts:       l.ClusterCount() * l.NodesPerCluster,
		LogDir:      dir + "/logs",
		Secrets:     s.Secrets(),
		Pin:         pin,
		MismatchHint: func(h remote.Host) string {
			if h.Node == "" { // the bastion
				if l.SSH.Bastion.HostKey != "" {
					return "update ssh.bastion.hostKey in the lab file"
				}
				return "labctl trust --bastion"
			}
			return fmt.Sprintf("labctl trust --cluster %d --node %s", h.Cluster, h.Node)
		},
	}
	if l.SSH.Password != "" {
		cfg.Secrets = append(cfg.Secrets, l.SSH.Password)
	}
	if b := l.SSH.Bastion; b != nil {
		cfg.Bastion = &remote.Host{Name: lab.BastionLabel, Address: b.Address, Port: b.Port, HostKey: b.HostKey}
		if b.HostKey == "" {
			// Pinned on first contact like any node (see pin).
			cfg.Bastion.HostKey = s.BastionHostKey(cfg.Bastion.Addr())
		}
		cfg.BastionUser = b.User
		if b.IdentityFile != "" {
			bs, err := remote.LoadSigners(lab.ExpandHome(b.IdentityFile))
			if err != nil {
				return nil, badInput("ssh.bastion.identityFile: %v", err)
			}
			cfg.Signers = append(cfg.Signers, bs...)
		}
	}
	return remote.NewEngine(cfg), nil
}

// engine is engineFor for commands that only look at a lab. Host keys
// seen for the first time are kept in memory during the handshake (a disk
// write there would slow every login) and recorded, under a short lock,
// when the returned flush runs; if another labctl holds the lab they are
// kept for this run only.
func (a *app) engine(l *lab.Lab, s *lab.State) (*remote.Engine, error) {
	e, _, err := a.engineWithFlush(l, s)
	return e, err
}

func (a *app) engineWithFlush(l *lab.Lab, s *lab.State) (*remote.Engine, func(), error) {
	dir, err := a.dir(l)
	if err != nil {
		return nil, nil, err
	}
	var mu sync.Mutex
	pins := map[remote.Host]string{}
	pin := func(h remote.Host, key string) error {
		mu.Lock()
		pins[h] = key
		mu.Unlock()
		return nil
	}
	flush := func() {
		mu.Lock()
		defer mu.Unlock()
		if len(pins) == 0 {
			return
		}
		st, err := lab.Open(dir, l.Name, 2*time.Second, "labctl (recording host keys)")
		if err != nil {
			fmt.Fprintf(a.errOut, "warning: %d new host keys not recorded (%v)\n", len(pins), err)
			return
		}
		defer st.Close()
		cur, err := st.Load()
		if err == nil {
			for h, key := range pins {
				cur.Pin(h.Cluster, h.Node, h.Addr(), key)
			}
			err = st.Save(cur)
		}
		if err != nil {
			fmt.Fprintf(a.errOut, "warning: host keys not recorded: %v\n", err)
		}
	}
	e, err := engineFor(l, dir, s, pin)
	return e, flush, err
}
