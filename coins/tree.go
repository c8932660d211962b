// Package coins holds DockerCoins, the course's sample application, rewritten
// in Go: the four services (rng, hasher, worker, webui, one main each), their
// Dockerfiles and the Compose file that attendees build on node1.
//
// Images are built by coins/images, Kubernetes manifests rendered by
// coins/manifests, and the labctl phase that preloads and deploys them lives
// in coins/phase.
package coins

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing/fstest"
)

// Services are the four DockerCoins programs, in the order of the course.
var Services = []string{"rng", "hasher", "worker", "webui"}

// usesRedis lists the services whose module requires the Redis client.
var usesRedis = map[string]bool{"worker": true, "webui": true}

//go:embed docker-compose.yml rng hasher worker webui tree
var sources embed.FS

// Tree returns the attendee's dockercoins directory: docker-compose.yml and,
// per service, its sources, a Dockerfile and a go.mod (each directory is a
// build context of its own, as in the course: `build: rng`). Tests are left
// out.
func Tree() (fs.FS, error) {
	tree := fstest.MapFS{}
	compose, err := sources.ReadFile("docker-compose.yml")
	if err != nil {
		return nil, err
	}
	tree["docker-compose.yml"] = &fstest.MapFile{Data: compose, Mode: 0o644}
	for _, svc := range Services {
		err := fs.WalkDir(sources, svc, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.go") {
				return err
			}
			data, err := sources.ReadFile(p)
			tree[p] = &fstest.MapFile{Data: data, Mode: 0o644}
			return err
		})
		if err != nil {
			return nil, err
		}
		mod := fmt.Sprintf("module dockercoins/%s\n\ngo 1.26.0\n", svc)
		if usesRedis[svc] {
			tmpl, err := sources.ReadFile("tree/redis.go.mod")
			if err != nil {
				return nil, err
			}
			mod = strings.Replace(string(tmpl), "dockercoins/SERVICE", "dockercoins/"+svc, 1)
			sum, err := sources.ReadFile("tree/redis.go.sum")
			if err != nil {
				return nil, err
			}
			tree[svc+"/go.sum"] = &fstest.MapFile{Data: sum, Mode: 0o644}
		}
		tree[svc+"/go.mod"] = &fstest.MapFile{Data: []byte(mod), Mode: 0o644}
	}
	return tree, nil
}

// WriteTree writes Tree() under dir, creating directories as needed.
func WriteTree(dir string) error {
	tree, err := Tree()
	if err != nil {
		return err
	}
	return fs.WalkDir(tree, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(tree, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
}

// WebFiles returns webui's static files (index.html and its assets), rooted
// at the files directory.
func WebFiles() (fs.FS, error) { return fs.Sub(sources, path.Join("webui", "files")) }

// Source returns the embedded sources, rooted like coins/ itself.
func Source() fs.FS { return sources }
