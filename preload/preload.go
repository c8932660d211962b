// Package preload puts image archives into a node's containerd (namespace
// k8s.io), so that pods start without a registry: which images a node
// lacks, and an archive's upload, import and removal. The add-ons and
// DockerCoins phases load their images this way; nodeprep's Kubernetes
// images are imported by its kube-cache script.
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
// names it (see FullRef).
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

// ImportLine imports the archive at dest into containerd.
func ImportLine(dest string) string { return "ctr -n k8s.io images import " + dest }

// Import uploads the archive to node at dest, imports it, runs then (if
// not nil) when the import succeeded, and removes dest, also when the
// import failed: archives are tens of MB.
func Import(ctx context.Context, node remote.Executor, archive, dest string, then func() error) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := node.Upload(ctx, f, dest, 0o644); err != nil {
		return fmt.Errorf("%s: upload %s: %w", node.Name(), dest, err)
	}
	importErr := run(ctx, node, ImportLine(dest))
	if importErr == nil && then != nil {
		importErr = then()
	}
	if err := run(ctx, node, "rm -f "+dest); err != nil && importErr == nil {
		return err
	}
	return importErr
}

// run names the node and the command unless the error does (an exit).
func run(ctx context.Context, node remote.Executor, line string) error {
	_, err := node.Run(ctx, remote.Command{Line: line})
	var exit *remote.ExitError
	if err != nil && !errors.As(err, &exit) {
		err = fmt.Errorf("%s: %q: %w", node.Name(), line, err)
	}
	return err
}
