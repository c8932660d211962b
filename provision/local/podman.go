package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// Podman runs the podman command line. Every call names the command and
// what podman printed when it fails.
type Podman struct {
	Bin string // default "podman"
}

func (p *Podman) run(ctx context.Context, stdin io.Reader, args ...string) ([]byte, error) {
	bin := p.Bin
	if bin == "" {
		bin = "podman"
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.Stdin = &stdout, &stderr, stdin
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("podman %s: %w", args[0], ctx.Err())
		}
		return stdout.Bytes(), fmt.Errorf("podman %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// Available says whether podman can be run at all.
func (p *Podman) Available(ctx context.Context) error {
	if _, err := p.run(ctx, nil, "version", "--format", "{{.Client.Version}}"); err != nil {
		return fmt.Errorf("the local provider needs podman and runc (apt-get install podman runc): %w", err)
	}
	return nil
}

// ImageExists says whether the image is in podman's store.
func (p *Podman) ImageExists(ctx context.Context, ref string) bool {
	_, err := p.run(ctx, nil, "image", "exists", ref)
	return err == nil
}

// ImportDir imports a root file system directory as an image.
func (p *Podman) ImportDir(ctx context.Context, dir, ref string) error {
	tar := exec.CommandContext(ctx, "tar", "-C", dir, "--numeric-owner", "-c", ".")
	out, err := tar.StdoutPipe()
	if err != nil {
		return err
	}
	var tarErr bytes.Buffer
	tar.Stderr = &tarErr
	if err := tar.Start(); err != nil {
		return fmt.Errorf("tar %s: %w", dir, err)
	}
	_, importErr := p.run(ctx, out, "import", "-", ref)
	if err := tar.Wait(); err != nil {
		return fmt.Errorf("tar %s: %w: %s", dir, err, tarErr.String())
	}
	return importErr
}

// EnsureNetwork creates the named network unless it exists.
func (p *Podman) EnsureNetwork(ctx context.Context, name, subnet string, labels map[string]string) error {
	if _, err := p.run(ctx, nil, "network", "exists", name); err == nil {
		return nil
	}
	args := []string{"network", "create"}
	if subnet != "" {
		args = append(args, "--subnet", subnet)
	}
	for k, v := range labels {
		args = append(args, "--label", k+"="+v)
	}
	_, err := p.run(ctx, nil, append(args, name)...)
	return err
}

// Container is what labctl reads back about a node container.
type Container struct {
	Name    string
	ID      string
	Running bool
	Labels  map[string]string
	IPs     map[string]string // network → address
}

// EnsureVolume creates the named volume (with label flags) unless it exists.
func (p *Podman) EnsureVolume(ctx context.Context, name string, labelFlags []string) error {
	if _, err := p.run(ctx, nil, "volume", "exists", name); err == nil {
		return nil
	}
	_, err := p.run(ctx, nil, append(append([]string{"volume", "create"}, labelFlags...), name)...)
	return err
}

// Names lists the names of the containers carrying label key=value (any
// value when value is "").
func (p *Podman) Names(ctx context.Context, key, value string) ([]string, error) {
	filter := "label=" + key
	if value != "" {
		filter += "=" + value
	}
	out, err := p.run(ctx, nil, "ps", "-a", "--filter", filter, "--format", "{{.Names}}")
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(out)), nil
}

// Containers lists and inspects the containers carrying label key=value.
func (p *Podman) Containers(ctx context.Context, key, value string) ([]Container, error) {
	names, err := p.Names(ctx, key, value)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, nil
	}
	return p.Inspect(ctx, names...)
}

// Inspect reads the state and addresses of containers.
func (p *Podman) Inspect(ctx context.Context, names ...string) ([]Container, error) {
	out, err := p.run(ctx, nil, append([]string{"container", "inspect"}, names...)...)
	if err != nil {
		return nil, err
	}
	var raw []struct {
		ID     string `json:"Id"`
		Name   string `json:"Name"`
		State  struct{ Running bool }
		Config struct{ Labels map[string]string }
		Net    struct {
			Networks map[string]struct{ IPAddress string }
		} `json:"NetworkSettings"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, fmt.Errorf("podman inspect: %w", err)
	}
	cs := make([]Container, 0, len(raw))
	for _, r := range raw {
		c := Container{Name: r.Name, ID: r.ID, Running: r.State.Running, Labels: r.Config.Labels, IPs: map[string]string{}}
		for n, v := range r.Net.Networks {
			c.IPs[n] = v.IPAddress
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// Run starts a container with args (after "run -d").
func (p *Podman) Run(ctx context.Context, args ...string) error {
	_, err := p.run(ctx, nil, append([]string{"run", "-d"}, args...)...)
	return err
}

// Start starts stopped containers.
func (p *Podman) Start(ctx context.Context, names ...string) error {
	_, err := p.run(ctx, nil, append([]string{"start"}, names...)...)
	return err
}

// Stop stops containers within timeout seconds.
func (p *Podman) Stop(ctx context.Context, timeout int, names ...string) error {
	_, err := p.run(ctx, nil, append([]string{"stop", "-t", fmt.Sprint(timeout)}, names...)...)
	return err
}

// Cleanup releases what stopped containers held on this machine (their
// addresses on the network, their mounts) now, instead of whenever
// conmon's own cleanup gets to it: a start right after a stop otherwise
// finds the node's address still taken (podman 4.3, under load).
func (p *Podman) Cleanup(ctx context.Context, names ...string) error {
	_, err := p.run(ctx, nil, append([]string{"container", "cleanup"}, names...)...)
	return err
}

// Kill sends signal to running containers.
func (p *Podman) Kill(ctx context.Context, signal string, names ...string) error {
	_, err := p.run(ctx, nil, append([]string{"kill", "--signal", signal}, names...)...)
	return err
}

// Exec runs a command in a container.
func (p *Podman) Exec(ctx context.Context, name string, stdin io.Reader, cmd ...string) ([]byte, error) {
	args := []string{"exec"}
	if stdin != nil {
		args = append(args, "-i")
	}
	return p.run(ctx, stdin, append(append(args, name), cmd...)...)
}

// Remove removes containers, then volumes, then the network, skipping any
// that are already gone.
func (p *Podman) Remove(ctx context.Context, containers, volumes []string, network string) error {
	if len(containers) > 0 {
		// podman 4.3 sometimes fails to remove a container it has just
		// stopped ("container state improper"); a second try succeeds.
		var err error
		for try := 0; try < 3; try++ {
			if _, err = p.run(ctx, nil, append([]string{"rm", "-f", "-t", "2"}, containers...)...); err == nil {
				break
			}
			time.Sleep(time.Second)
		}
		if err != nil {
			return err
		}
	}
	for _, v := range volumes {
		if _, err := p.run(ctx, nil, "volume", "exists", v); err != nil {
			continue
		}
		if _, err := p.run(ctx, nil, "volume", "rm", "-f", v); err != nil {
			return err
		}
	}
	if network != "" {
		if _, err := p.run(ctx, nil, "network", "exists", network); err == nil {
			if _, err := p.run(ctx, nil, "network", "rm", "-f", network); err != nil {
				return err
			}
		}
	}
	return nil
}

// Volumes lists the volumes carrying label key=value.
func (p *Podman) Volumes(ctx context.Context, key, value string) ([]string, error) {
	out, err := p.run(ctx, nil, "volume", "ls", "--filter", "label="+key+"="+value, "--format", "{{.Name}}")
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(out)), nil
}
