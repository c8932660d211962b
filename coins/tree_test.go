package coins

import (
	"io/fs"
	"os"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

type composeFile struct {
	Version  string `json:"version"`
	Services map[string]struct {
		Build   string   `json:"build"`
		Image   string   `json:"image"`
		Ports   []string `json:"ports"`
		Volumes []string `json:"volumes"`
	} `json:"services"`
}

// TestComposeTree checks the attendee tree without Docker (there is no
// engine here): the Compose file parses, names the course's services and
// ports, and every build context, Dockerfile and volume it names exists.
func TestComposeTree(t *testing.T) {
	tree, err := Tree()
	if err != nil {
		t.Fatal(err)
	}
	data, err := fs.ReadFile(tree, "docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	if c.Version != "2" {
		t.Errorf("version %q, want \"2\"", c.Version)
	}
	var names []string
	for name := range c.Services {
		names = append(names, name)
	}
	slices.Sort(names)
	if want := []string{"hasher", "redis", "rng", "webui", "worker"}; !slices.Equal(names, want) {
		t.Fatalf("services %q, want %q", names, want)
	}
	ports := map[string][]string{"webui": {"8000:80"}, "rng": {"8001:80"}, "hasher": {"8002:80"}}
	for name, s := range c.Services {
		if !slices.Equal(s.Ports, ports[name]) {
			t.Errorf("%s ports %q, want %q", name, s.Ports, ports[name])
		}
		if name == "redis" {
			if s.Image != "redis" || s.Build != "" {
				t.Errorf("redis: image %q build %q, want the stock image", s.Image, s.Build)
			}
			continue
		}
		if s.Build != name {
			t.Errorf("%s: build %q, want its own directory", name, s.Build)
		}
		checkDockerfile(t, tree, name)
	}
	vols := c.Services["webui"].Volumes
	if len(vols) != 1 {
		t.Fatalf("webui volumes %q", vols)
	}
	src, dst, _ := strings.Cut(vols[0], ":")
	if dst != "/files/" {
		t.Errorf("webui volume mounted on %q, want /files/", dst)
	}
	if _, err := fs.ReadFile(tree, path.Join(path.Clean(src), "index.html")); err != nil {
		t.Errorf("webui volume source %s: %v", src, err)
	}
	for p := range walk(t, tree) {
		if strings.HasSuffix(p, "_test.go") {
			t.Errorf("the attendee tree has a test file: %s", p)
		}
	}
}

var copyLine = regexp.MustCompile(`(?m)^COPY ([^-\s]\S*) `)

// checkDockerfile checks what a service's Dockerfile needs from its context.
func checkDockerfile(t *testing.T, tree fs.FS, name string) {
	t.Helper()
	df, err := fs.ReadFile(tree, name+"/Dockerfile")
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	text := string(df)
	if !strings.Contains(text, `ENTRYPOINT ["/`+name+`"]`) || !strings.Contains(text, "-o /out/"+name+" .") {
		t.Errorf("%s/Dockerfile does not build and run /%s:\n%s", name, name, text)
	}
	if (name == "worker") == strings.Contains(text, "EXPOSE 80") {
		t.Errorf("%s/Dockerfile: EXPOSE 80 is for the three servers only", name)
	}
	for _, m := range copyLine.FindAllStringSubmatch(text, -1) {
		matches, _ := fs.Glob(tree, path.Join(name, strings.TrimSuffix(m[1], "/")))
		if len(matches) == 0 {
			t.Errorf("%s/Dockerfile copies %s, which is not in the build context", name, m[1])
		}
	}
}

func walk(t *testing.T, tree fs.FS) map[string]bool {
	files := map[string]bool{}
	err := fs.WalkDir(tree, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files[p] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestTreeBuilds compiles each service of the written tree as its own
// module, as `docker-compose build` would, with go.mod and go.sum read-only.
func TestTreeBuilds(t *testing.T) {
	dir := t.TempDir()
	if err := WriteTree(dir); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/redis/go-redis/v9").Output()
	if err != nil {
		t.Fatal(err)
	}
	mod, _ := os.ReadFile(dir + "/worker/go.mod")
	if v := strings.TrimSpace(string(out)); !strings.Contains(string(mod), "github.com/redis/go-redis/v9 "+v+"\n") {
		t.Errorf("labctl uses go-redis %s but the attendee tree's go.mod does not:\n%s\n(update coins/tree/redis.go.mod and .sum with go mod tidy)", v, mod)
	}
	for _, svc := range Services {
		cmd := exec.Command("go", "build", "-o", os.DevNull, ".")
		cmd.Dir = dir + "/" + svc
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=readonly", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			if strings.Contains(string(out), "dial tcp") && os.Getenv("CI") != "true" {
				t.Skipf("%s: modules not in the cache and no network: %s", svc, out)
			}
			t.Errorf("%s: go build in the attendee tree: %v\n%s", svc, err, out)
		}
	}
}
