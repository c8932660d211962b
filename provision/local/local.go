// Package local provides VM-like nodes on this machine: podman containers
// that boot systemd with sshd, one network per lab, one address per node.
package local

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/remote"
)

// Labels put on everything the provider creates.
const (
	LabelLab     = "labctl.lab"
	LabelCluster = "labctl.cluster"
	LabelNode    = "labctl.node"
)

// Provider is the local provider.
type Provider struct {
	Podman *Podman
	Recipe Recipe
	// BootTimeout bounds the wait for a new node's sshd (default 90s).
	BootTimeout time.Duration
	// HostSetup readies this machine's kernel for nodes containers (see
	// PrepareHost); nil leaves the machine alone.
	HostSetup func(nodes int, out io.Writer) error
}

// PrepareHost is the default HostSetup: the cgroup hierarchies each node
// needs its own of, and the inotify limits all nodes share.
func PrepareHost(nodes int, out io.Writer) error {
	if err := EnsureCgroupMounts(out); err != nil {
		return err
	}
	return EnsureHostLimits(ProcSys("/proc/sys"), nodes, out)
}

// New returns the provider with the default node image.
func New() *Provider {
	return &Provider{Podman: &Podman{}, Recipe: DefaultRecipe(), BootTimeout: 90 * time.Second, HostSetup: PrepareHost}
}

// Names of what the provider creates for a lab.
func NetworkName(labName string) string { return "labctl-" + labName }

// ContainerName is the node container of cluster c, node n.
func ContainerName(labName string, c int, node string) string {
	return fmt.Sprintf("labctl-%s-%02d-%s", labName, c, node)
}

// Identity is the key labctl generates for its local nodes.
func (p *Provider) Identity(r provision.Request) string {
	return filepath.Join(r.StateDir, "ssh", "id_ed25519")
}

// Provision creates missing node containers, starts stopped ones, and
// records every node's address and host key.
func (p *Provider) Provision(ctx context.Context, r provision.Request) error {
	pub, err := EnsureKey(p.Identity(r))
	if err != nil {
		return err
	}
	l := r.Lab
	network := NetworkName(l.Name)
	existing, err := p.Podman.Containers(ctx, LabelLab, l.Name)
	if err != nil {
		if aerr := p.Podman.Available(ctx); aerr != nil {
			return aerr
		}
		return err
	}
	// The image and network matter only to nodes still to be created: a
	// re-run over a running lab asks podman two questions, not five.
	image, subnet := "", ""
	if p.HostSetup != nil && !allRunning(existing, l.ClusterCount()*l.NodesPerCluster) {
		// Nodes to create or restart (after a reboot the limits are back to
		// the defaults): size the shared limits for every labctl node here.
		all, err := p.Podman.Names(ctx, LabelLab, "")
		if err != nil {
			return err
		}
		if err := p.HostSetup(len(all)+l.ClusterCount()*l.NodesPerCluster-len(existing), r.Out); err != nil {
			return err
		}
	}
	for _, c := range existing {
		if (c.Labels[LabelUserNS] == "1") != l.Provider.UserNS {
			was := map[bool]string{true: "in", false: "without"}[c.Labels[LabelUserNS] == "1"]
			return fmt.Errorf("provider.userns: %s was made %s a user namespace, and a container keeps that: `labctl destroy` the lab first, or set provider.userns: %t", c.Name, was, !l.Provider.UserNS)
		}
	}
	if len(existing) < l.ClusterCount()*l.NodesPerCluster {
		if l.Provider.UserNS {
			if err := checkHostIDs(); err != nil {
				return err
			}
		}
		if image, err = EnsureImage(ctx, p.Podman, p.Recipe, r.Out); err != nil {
			return err
		}
		if err := p.Podman.EnsureNetwork(ctx, network, l.Provider.Subnet, map[string]string{LabelLab: l.Name}); err != nil {
			return err
		}
		if subnet, err = p.Podman.NetworkSubnet(ctx, network); err != nil {
			return err
		}
		// Refused before any node is made: the last node must fit.
		if _, err := NodeAddress(subnet, l.ClusterCount(), lab.NodeName(l.NodesPerCluster)); err != nil {
			return err
		}
	}
	byName := map[string]Container{}
	for _, c := range existing {
		byName[c.Name] = c
	}
	for _, c := range existing {
		if n, _ := strconv.Atoi(c.Labels[LabelCluster]); n > l.ClusterCount() {
			fmt.Fprintf(r.Out, "note: %s belongs to cluster %d, beyond attendees: %d and spares: %d; `labctl destroy --cluster %d` removes it\n", c.Name, n, l.Attendees, l.Spares, n)
		}
	}

	type job struct {
		cluster int
		node    string
	}
	var jobs []job
	for c := 1; c <= l.ClusterCount(); c++ {
		for n := 1; n <= l.NodesPerCluster; n++ {
			jobs = append(jobs, job{c, lab.NodeName(n)})
		}
	}
	var (
		mu   sync.Mutex
		errs *multierror.Error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, 8) // podman itself serialises much of this
	)
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			name := ContainerName(l.Name, j.cluster, j.node)
			mu.Lock()
			prev := r.State.Cluster(j.cluster)
			var pinned string
			if prev != nil && prev.Node(j.node) != nil {
				pinned = prev.Node(j.node).HostKey
			}
			mu.Unlock()
			node, fresh, err := p.ensureNode(ctx, byName, name, network, subnet, image, pub, j.cluster, j.node, pinned, l.Provider.UserNS)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = multierror.Append(errs, fmt.Errorf("%s: %w", lab.Label(j.cluster, j.node), err))
				return
			}
			provision.SetNode(r.State, j.cluster, node, fresh)
		}()
	}
	wg.Wait()
	if errs != nil {
		errs.ErrorFormat = remote.ListErrors
	}
	return errs.ErrorOrNil()
}

// allRunning reports whether want node containers exist and all run.
func allRunning(cs []Container, want int) bool {
	if len(cs) < want {
		return false
	}
	for _, c := range cs {
		if !c.Running {
			return false
		}
	}
	return true
}

// ensureNode makes one node container exist and run, and reads it back.
// userns makes a new node in a user namespace (an existing one keeps what
// it was made with).
func (p *Provider) ensureNode(ctx context.Context, byName map[string]Container, name, network, subnet, image, pub string, cluster int, node, pinned string, userns bool) (lab.Node, bool, error) {
	c, exists := byName[name]
	fresh := !exists
	switch {
	case !exists:
		addr, err := NodeAddress(subnet, cluster, node)
		if err != nil {
			return lab.Node{}, false, err
		}
		mac, err := NodeMAC(addr)
		if err != nil {
			return lab.Node{}, false, err
		}
		vol := name + "-containerd"
		dockerVol := name + "-docker"
		labels := []string{
			"--label", LabelLab + "=" + strings.TrimPrefix(network, "labctl-"),
			"--label", LabelCluster + "=" + strconv.Itoa(cluster),
			"--label", LabelNode + "=" + node,
		}
		for _, v := range []string{vol, dockerVol} {
			if err := p.Podman.EnsureVolume(ctx, v, labels); err != nil {
				return lab.Node{}, false, err
			}
		}
		args := append([]string{
			"--name", name, "--hostname", node, "--network", network, "--ip", addr, "--mac-address", mac,
			"--runtime", "runc", "--privileged",
			// Stopped like a VM shuts down (see StopSignal), by podman too.
			"--stop-signal", StopSignal, "--stop-timeout", strconv.Itoa(int(StopTimeout.Seconds())),
			// /etc/hosts is nodeprep's: without this podman rewrites it at
			// every start, and the node names with it. (Nodes made before
			// this flag get their names back from a unit nodeprep installs.)
			"--no-hosts",
			// podman lowers its own limits, then asks for more: set both.
			"--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768",
			// containerd's overlay snapshotter cannot sit on the container's overlay root.
			"-v", vol + ":/var/lib/containerd", "-v", dockerVol + ":/var/lib/docker",
		}, labels...)
		if _, err := os.Stat("/lib/modules"); err == nil {
			// modprobe inside the node loads the host's modules, as on a VM.
			args = append(args, "-v", "/lib/modules:/lib/modules:ro")
		}
		if userns {
			if err := p.createUserNS(ctx, name, args, image); err != nil {
				return lab.Node{}, false, err
			}
		} else if err := p.Podman.Run(ctx, append(args, image, "/sbin/init")...); err != nil {
			return lab.Node{}, false, err
		}
	case !c.Running && c.Labels[LabelUserNS] == "1":
		if err := p.startUserNS(ctx, name); err != nil {
			return lab.Node{}, false, err
		}
	case !c.Running:
		if err := p.Podman.Start(ctx, name); err != nil {
			return lab.Node{}, false, err
		}
	}
	if fresh || !c.Running || pinned == "" {
		if err := p.waitSSH(ctx, name); err != nil {
			return lab.Node{}, false, err
		}
		auth := "mkdir -p /root/.ssh && chmod 700 /root/.ssh && cat > /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys"
		if _, err := p.Podman.Exec(ctx, name, strings.NewReader(pub+"\n"), "sh", "-c", auth); err != nil {
			return lab.Node{}, false, err
		}
		// The host key comes from the provider, not from the network: no
		// trust on first use for local nodes.
		out, err := p.Podman.Exec(ctx, name, nil, "cat", "/etc/ssh/ssh_host_ed25519_key.pub")
		if err != nil {
			return lab.Node{}, false, err
		}
		pinned = keyOnly(string(out))
	}
	ip := c.IPs[network]
	if !exists || !c.Running || ip == "" {
		info, err := p.Podman.Inspect(ctx, name)
		if err != nil {
			return lab.Node{}, false, err
		}
		ip = info[0].IPs[network]
	}
	if ip == "" {
		return lab.Node{}, false, fmt.Errorf("%s has no address on network %s", name, network)
	}
	return lab.Node{Name: node, PublicAddress: ip, PrivateAddress: ip, Port: 22, HostKey: pinned, ID: name}, fresh, nil
}

// waitSSH waits until systemd made the host keys and sshd listens.
func (p *Provider) waitSSH(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, p.BootTimeout)
	defer cancel()
	check := "test -s /etc/ssh/ssh_host_ed25519_key.pub && systemctl is-active --quiet ssh"
	var last error
	for {
		if _, err := p.Podman.Exec(ctx, name, nil, "sh", "-c", check); err == nil {
			return nil
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: sshd not up after %s: %v", name, p.BootTimeout, last)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// keyOnly strips the comment of an authorized_keys line.
func keyOnly(line string) string {
	f := strings.Fields(line)
	if len(f) >= 2 {
		return f[0] + " " + f[1]
	}
	return strings.TrimSpace(line)
}

// Destroy removes the lab's containers and volumes, and its network when
// the whole lab goes.
func (p *Provider) Destroy(ctx context.Context, r provision.Request) error {
	if err := p.Podman.Available(ctx); err != nil {
		return err
	}
	l := r.Lab
	cs, err := p.Podman.Containers(ctx, LabelLab, l.Name)
	if err != nil {
		return err
	}
	vols, err := p.Podman.Volumes(ctx, LabelLab, l.Name)
	if err != nil {
		return err
	}
	var names, volumes []string
	for _, c := range cs {
		if n, _ := strconv.Atoi(c.Labels[LabelCluster]); r.Selected(n) {
			names = append(names, c.Name)
			if c.Running {
				// Nodes share the host's loop devices: give back the one
				// behind /dev/loop4 before the container goes.
				// Every device backed by this node's file, whatever /dev/loop4 points to.
				_, _ = p.Podman.Exec(ctx, c.Name, nil, "sh", "-c", releaseLoop)
			}
		}
	}
	for _, v := range vols {
		if r.Selected(clusterOfVolume(l.Name, v)) {
			volumes = append(volumes, v)
		}
	}
	network := ""
	if len(r.Clusters) == 0 {
		network = NetworkName(l.Name)
	}
	return p.Podman.Remove(ctx, names, volumes, network)
}

// releaseLoop detaches every loop device backed by the node's
// /portworx.blk, whatever /dev/loop4 points to.
const releaseLoop = "systemctl stop labctl-portworx-loop.service 2>/dev/null; " +
	"[ -f /portworx.blk ] && for d in $(losetup -a | grep -F \"]:$(stat -c %i /portworx.blk) (/portworx.blk)\" | cut -d: -f1); do losetup -d $d; done; true"

func clusterOfVolume(labName, vol string) int {
	rest := strings.TrimPrefix(vol, "labctl-"+labName+"-")
	n, _ := strconv.Atoi(strings.SplitN(rest, "-", 2)[0])
	return n
}
