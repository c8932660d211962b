package goimage

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// Assets are files another build makes (a web UI built with npm), put into
// the image under Dir. Make runs only when the image is not in the cache;
// Recipe stands for what decides their bytes, in the image's recipe.
type Assets struct {
	// Dir is where they go in the image ("/static").
	Dir string
	// Recipe changes whenever Make would make other bytes.
	Recipe string
	// Make returns a local directory holding them (built, or from its own
	// cache under cacheDir), printing progress to log.
	Make func(ctx context.Context, cacheDir string, log io.Writer) (string, error)
}

// addAssets reads every regular file under the directory a makes into
// files, at a.Dir in the image.
func addAssets(ctx context.Context, a *Assets, opts Options, files map[string][]byte) error {
	var log io.Writer = io.Discard
	if opts.Log != nil {
		log = opts.Log
	}
	root, err := a.Make(ctx, opts.CacheDir, log)
	if err != nil {
		return err
	}
	n := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[path.Join(a.Dir, filepath.ToSlash(rel))] = data
		n++
		return nil
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("assets for %s: %s holds no file", a.Dir, root)
	}
	return nil
}
