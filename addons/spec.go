package addons

import (
	"context"
	"fmt"
	"strings"

	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/remote"
)

// specURLs are the vendor manifests the add-ons want, in order: part of
// the digest, so that a re-run with the same URLs fetches nothing.
func specURLs(addons []Addon, env Env) []string {
	var urls []string
	for _, a := range addons {
		if a.Spec != nil {
			urls = append(urls, a.Spec(env))
		}
	}
	return urls
}

// fetchSpecs has node1 download each add-on's vendor manifest (the nodes
// are the machines with the Internet; labctl's own may have none) and
// returns its objects, labelled as the add-on's.
func (p *Phase) fetchSpecs(ctx context.Context, node1 remote.Executor) ([]kube.Object, error) {
	var all []kube.Object
	for _, a := range p.Addons {
		if a.Spec == nil {
			continue
		}
		url := a.Spec(p.Env)
		objs, err := FetchSpec(ctx, node1, url)
		if err != nil {
			return nil, fmt.Errorf("add-on %s: %w", a.Name, err)
		}
		label(objs, a.Name)
		all = append(all, objs...)
	}
	return all, nil
}

// FetchSpec downloads url on x and decodes the manifest.
func FetchSpec(ctx context.Context, x remote.Executor, url string) ([]kube.Object, error) {
	res, err := x.Run(ctx, remote.Command{Line: "curl -fsSL --retry 3 --max-time 120 " + quote(url)})
	if err != nil {
		return nil, fmt.Errorf("fetching %s on %s: %w", url, x.Name(), err)
	}
	objs, err := kube.Decode(res.Stdout)
	if err != nil {
		return nil, fmt.Errorf("the spec from %s: %w", url, err)
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("the spec from %s has no objects", url)
	}
	return objs, nil
}

// quote is s as one shell word.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
