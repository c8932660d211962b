package addons

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/labctl/labctl/remote"
)

// listImages is the probe of which images a node's containerd has. (Not
// the coins phase's line: a probe answer is served once.)
const listImages = "ctr --namespace k8s.io images ls -q"

// remoteArchive is where an image archive lands before its import.
const remoteArchive = "/var/lib/labctl/stage/addon-image.tar"

// preload imports, on every node of c, the images it lacks.
func (p *Phase) preload(ctx context.Context, c Cluster) error {
	if len(p.Archives) == 0 {
		return nil
	}
	res := remote.Each(ctx, c.Nodes, len(c.Nodes), func(ctx context.Context, x remote.Executor) error {
		missing, err := missingImages(ctx, x, p.Archives)
		if err != nil {
			return err
		}
		for _, ref := range missing {
			if err := importImage(ctx, x, p.Archives[ref]); err != nil {
				return fmt.Errorf("image %s: %w", ref, err)
			}
		}
		if len(missing) > 0 {
			if still, err := missingImages(ctx, x, p.Archives); err != nil || len(still) > 0 {
				return fmt.Errorf("%s: imported but containerd still lacks %v (%v)", x.Name(), still, err)
			}
			p.logf("%s: imported %s", x.Name(), strings.Join(missing, ", "))
		}
		return nil
	})
	return res.Err()
}

func missingImages(ctx context.Context, x remote.Executor, want map[string]string) ([]string, error) {
	res, err := x.Run(ctx, remote.Command{Line: listImages})
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(res.Stdout))
	for sc.Scan() {
		have[strings.TrimSpace(sc.Text())] = true
	}
	var missing []string
	for ref := range want {
		if !have[fullRef(ref)] {
			missing = append(missing, ref)
		}
	}
	sort.Strings(missing)
	return missing, nil
}

// fullRef is how containerd names ref: with the docker.io default spelt out.
func fullRef(ref string) string {
	first, _, ok := strings.Cut(ref, "/")
	if !ok || !strings.ContainsAny(first, ".:") && first != "localhost" {
		if !ok {
			return "docker.io/library/" + ref
		}
		return "docker.io/" + ref
	}
	return ref
}

func importImage(ctx context.Context, x remote.Executor, archive string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := x.Upload(ctx, f, remoteArchive, 0o644); err != nil {
		return err
	}
	_, err = x.Run(ctx, remote.Command{Line: "ctr --namespace k8s.io images import " + remoteArchive + "; rc=$?; rm -f " + remoteArchive + "; exit $rc"})
	return err
}
