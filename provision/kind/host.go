package kind

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kind/pkg/log"

	"github.com/labctl/labctl/provision/local"
)

// KubeconfigDir holds the attendees' kubeconfigs, in the lab's state
// directory; the cards command copies each next to the cards.
func KubeconfigDir(stateDir string) string { return filepath.Join(stateDir, "kubeconfigs") }

// KubeconfigPath is attendee cluster c's kubeconfig (cluster admin, server
// on a port of this machine's loopback).
func KubeconfigPath(stateDir string, c int) string {
	return filepath.Join(KubeconfigDir(stateDir), fmt.Sprintf("cluster-%02d.kubeconfig", c))
}

// kindKubeconfig is the file kind itself writes for cluster c (kind's
// default would be the user's ~/.kube/config, which labctl leaves alone).
func kindKubeconfig(stateDir string, c int) string {
	return filepath.Join(KubeconfigDir(stateDir), fmt.Sprintf(".kind-%02d", c))
}

// prepareHost readies this machine for node containers: what the local
// provider's nodes need (cgroup v1 hierarchies, inotify limits), and the
// /lib/modules that kind always mounts into its nodes (a machine without
// loadable modules has none; an empty one changes nothing else).
func prepareHost(rt *Runtime, clusters int, out io.Writer) error {
	if _, err := os.Stat("/lib/modules"); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll("/lib/modules", 0o755); err != nil {
			return fmt.Errorf("kind mounts /lib/modules into its nodes and this machine has none: %w", err)
		}
		fmt.Fprintln(out, "    made an empty /lib/modules (kind mounts it into its nodes)")
	}
	if rt.Name != "podman" {
		return nil
	}
	return local.PrepareHost(clusters, out)
}

// ensureNetwork makes the lab's network, labelled as labctl's.
func ensureNetwork(ctx context.Context, rt *Runtime, labName string) error {
	name := NetworkName(labName)
	if rt.Command(ctx, "network", "inspect", name).Run() == nil {
		return nil
	}
	_, err := rt.Output(ctx, "network", "create", "--label", LabelLab+"="+labName, "--label", LabelProvider+"=kind", name)
	return err
}

// removeNetwork deletes the lab's network if labctl made it (its label).
func removeNetwork(ctx context.Context, rt *Runtime, labName string) error {
	name := NetworkName(labName)
	labels, err := rt.Output(ctx, "network", "inspect", "--format", "{{range $k, $v := .Labels}}{{$k}}={{$v}} {{end}}", name)
	if err != nil {
		return nil // no such network
	}
	if !strings.Contains(" "+labels+" ", " "+LabelLab+"="+labName+" ") {
		return fmt.Errorf("network %s is not labctl's (no %s=%s label): left alone", name, LabelLab, labName)
	}
	_, err = rt.Output(ctx, "network", "rm", name)
	return err
}

// startIfStopped starts a node container that is not running (the
// machine rebooted): kind's node boots again by itself.
func startIfStopped(ctx context.Context, rt *Runtime, name string) error {
	state, err := rt.Output(ctx, "inspect", "--format", "{{.State.Running}}", name)
	if err != nil {
		return err
	}
	if state == "true" {
		return nil
	}
	_, err = rt.Output(ctx, "start", name)
	return err
}

func writeIfChanged0600(path, body string) error {
	if b, err := os.ReadFile(path); err == nil && string(b) == body {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func joinErrs(errs []error) error { return errors.Join(errs...) }

// quietLogger drops kind's progress output: labctl prints its own lines,
// and kind's errors come back as errors.
type quietLogger struct{}

func (quietLogger) Warn(string)                   {}
func (quietLogger) Warnf(string, ...interface{})  {}
func (quietLogger) Error(string)                  {}
func (quietLogger) Errorf(string, ...interface{}) {}
func (quietLogger) V(log.Level) log.InfoLogger    { return quietInfo{} }

type quietInfo struct{}

func (quietInfo) Info(string)                  {}
func (quietInfo) Infof(string, ...interface{}) {}
func (quietInfo) Enabled() bool                { return false }
