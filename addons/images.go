package addons

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/preload"
	"github.com/labctl/labctl/remote"
)

// listImages is the probe of which images a node's containerd has. (Not
// the coins phase's line: a probe answer is served once.)
const listImages = "ctr --namespace k8s.io images ls -q"

// remoteArchive is where an image archive lands before its import.
const remoteArchive = "/var/lib/labctl/stage/addon-image.tar"

// preload imports, on every node of c, the images it lacks.
func (p *Phase) preload(ctx context.Context, c *lab.Cluster) error {
	if len(p.Archives) == 0 {
		return nil
	}
	nodes := make([]remote.Executor, len(c.Nodes))
	for i, n := range c.Nodes {
		nodes[i] = p.Exec(c.Index, n.Name)
	}
	res := remote.Each(ctx, nodes, len(nodes), func(ctx context.Context, x remote.Executor) error {
		missing, err := missingImages(ctx, x, p.Archives)
		if err != nil {
			return err
		}
		for _, ref := range missing {
			if err := preload.Import(ctx, x, p.Archives[ref], remoteArchive, []string{ref}, nil); err != nil {
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
	return preload.Missing(res.Stdout, slices.Collect(maps.Keys(want))), nil
}
