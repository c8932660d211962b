// Package preload puts image archives into a node's containerd (namespace
// k8s.io), so that pods start without a registry: which images a node
// lacks, and an archive's upload, import and removal. Its node-side
// import (Script) is the one way labctl loads an archive: the add-ons and
// DockerCoins phases run it through Import, nodeprep's kube-cache step
// runs it within its script.
package preload

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/labctl/labctl/remote"
)

// Missing are the references of want that list lacks, sorted; list is
// what `ctr images ls -q` printed. A reference counts as containerd
// names it (see FullRef). The list is the node's: only whole lines equal
// to a wanted reference count, and what it says goes nowhere else (the
// answer holds references of want only). A line too long for the
// scanner ends the reading: what is not read counts as lacking (and is
// imported again).
func Missing(list []byte, want []string) []string {
	have := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(list))
	for sc.Scan() {
		have[strings.TrimSpace(sc.Text())] = true
	}
	var missing []string
	for _, ref := range want {
		if !have[FullRef(ref)] {
			missing = append(missing, ref)
		}
	}
	sort.Strings(missing)
	return missing
}

// FullRef is how containerd names ref: with the docker.io default spelt out.
func FullRef(ref string) string {
	first, _, ok := strings.Cut(ref, "/")
	if !ok || !strings.ContainsAny(first, ".:") && first != "localhost" {
		if !ok {
			return "docker.io/library/" + ref
		}
		return "docker.io/" + ref
	}
	return ref
}

// Import uploads the archive to node at dest, imports it (Script: it
// fails unless containerd then lists every image of refs), runs then (if
// not nil) when the import succeeded, and removes dest, also when the
// import failed: archives are tens of MB.
func Import(ctx context.Context, node remote.Executor, archive, dest string, refs []string, then func() error) error {
	script, err := Script(Archive{Path: dest, Refs: refs})
	if err != nil {
		return err
	}
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := node.Upload(ctx, f, dest, 0o644); err != nil {
		return fmt.Errorf("%s: upload %s: %w", node.Name(), dest, err)
	}
	importErr := run(ctx, node, script)
	if importErr == nil && then != nil {
		importErr = then()
	}
	if err := run(ctx, node, "rm -f "+dest); err != nil && importErr == nil {
		return err
	}
	return importErr
}

// run names the node and the command unless the error does (an exit; a
// script shows its first line).
func run(ctx context.Context, node remote.Executor, line string) error {
	_, err := node.Run(ctx, remote.Command{Line: line})
	var exit *remote.ExitError
	if err != nil && !errors.As(err, &exit) {
		first, _, _ := strings.Cut(line, "\n")
		err = fmt.Errorf("%s: %q: %w", node.Name(), first, err)
	}
	return err
}
