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

// webterm builds the attendees' browser terminal (cached by recipe) and
// returns what node1's webterm step uploads: the agent, xterm.js and, when
// the lab file gives one, the TLS certificate and key.
func (u *Up) webterm(ctx context.Context) ([]nodeprep.File, error) {
	mod, err := goimage.OwnModule(ctx, u.SourceDir, labctlModule)
	if err != nil {
		return nil, fmt.Errorf("web terminal: %w", err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return nil, err
	}
	b, err := webterm.Build(ctx, mod, filepath.Join(cache, "labctl", "images"), "amd64", remote.Indent(u.Out))
	if err != nil {
		return nil, err
	}
	const stage = "/var/lib/labctl/stage/"
	files := []nodeprep.File{{Source: b.Binary.Path, SHA256: b.Binary.SHA256, Dest: stage + webterm.Binary, Mode: 0o755}}
	for _, a := range b.Assets {
		files = append(files, nodeprep.File{Source: a.Path, SHA256: a.SHA256, Dest: stage + "webterm-" + a.Name, Mode: 0o644})
	}
	if t := u.Lab.WebTerm.TLS; t.Cert != "" {
		for _, f := range []struct {
			path, dest string
			mode       uint32
		}{{t.Cert, "webterm-tls.crt", 0o644}, {t.Key, "webterm-tls.key", 0o600}} {
			sum, err := goimage.FileSum(lab.ExpandHome(f.path))
			if err != nil {
				return nil, fmt.Errorf("webterm.tls: %w", err)
			}
			files = append(files, nodeprep.File{Source: lab.ExpandHome(f.path), SHA256: sum, Dest: stage + f.dest, Mode: f.mode})
		}
	}
	return files, nil
}
