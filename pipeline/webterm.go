package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/labctl/labctl/artifacts/goimage"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/nodeprep"
	"github.com/labctl/labctl/remote"
	"github.com/labctl/labctl/webterm"
)

// stage is where nodeprep uploads what labctl's caches hold.
const stage = "/var/lib/labctl/stage/"

// buildWebTerm builds the attendees' browser terminal (cached by recipe)
// and leaves what node1's webterm step uploads: the agent, xterm.js and,
// when the lab file gives one, the TLS certificate and key.
func (u *Up) buildWebTerm(ctx context.Context, b *built, cacheOnly bool) error {
	mod, err := u.ownModule(ctx)
	if err != nil {
		return err
	}
	cache, err := userCache("images")
	if err != nil {
		return err
	}
	wt, err := webterm.Build(ctx, mod, cache, "amd64", remote.Indent(u.Out), cacheOnly)
	if err != nil {
		return err
	}
	files := []nodeprep.File{{Source: wt.Binary.Path, SHA256: wt.Binary.SHA256, Dest: stage + webterm.Binary, Mode: 0o755}}
	for _, a := range wt.Assets {
		files = append(files, nodeprep.File{Source: a.Path, SHA256: a.SHA256, Dest: stage + "webterm-" + a.Name, Mode: 0o644})
	}
	if t := u.Lab.WebTerm.TLS; t.Cert != "" {
		for _, f := range []struct {
			path, dest string
			mode       uint32
		}{{t.Cert, "webterm-tls.crt", 0o644}, {t.Key, "webterm-tls.key", 0o600}} {
			sum, err := goimage.FileSum(lab.ExpandHome(f.path))
			if err != nil {
				return fmt.Errorf("webterm.tls: %w", err)
			}
			files = append(files, nodeprep.File{Source: lab.ExpandHome(f.path), SHA256: sum, Dest: stage + f.dest, Mode: f.mode})
		}
	}
	b.uploads.WebTerm = files
	return nil
}

// ownModule is labctl's own source, which its helper programs and images
// are built from (looked up once per run).
func (u *Up) ownModule(ctx context.Context) (string, error) {
	if u.own == "" {
		dir, err := goimage.OwnModule(ctx, u.SourceDir, labctlModule)
		if err != nil {
			return "", err
		}
		u.own = dir
	}
	return u.own, nil
}

// userCache is labctl's directory name under the user's cache directory.
func userCache(name string) (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "labctl", name), nil
}
