package kind

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labctl/labctl/lab"
)

func TestCheckVersion(t *testing.T) {
	for v, ok := range map[string]bool{"1.34.4": true, "v1.23.0": true, "1.35.1": true, "1.22.9": false, "1.36.0": false, "1.34": false, "latest": false} {
		err := CheckVersion(v)
		if (err == nil) != ok {
			t.Errorf("%s: err %v, want ok=%v", v, err, ok)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "kubernetes.version: ") {
			t.Errorf("%s: error does not name the field: %v", v, err)
		}
	}
}

func kindLab(attendees int) *lab.Lab {
	return &lab.Lab{Name: "demo", Attendees: attendees, NodesPerCluster: 1}
}

func ownedState(clusters ...int) *lab.State {
	s := &lab.State{}
	for _, c := range clusters {
		s.Clusters = append(s.Clusters, lab.Cluster{Index: c, Nodes: []lab.Node{{Name: "node1", ID: NodeContainer(ClusterName("demo", c)), Runtime: "podman"}}})
	}
	return s
}

func TestCheckClash(t *testing.T) {
	l := kindLab(2)
	// Not ours: same name, nothing in the state.
	err := CheckClash(l, &lab.State{}, []string{"kind", "labctl-demo-02"})
	if err == nil || !strings.Contains(err.Error(), `"labctl-demo-02"`) || !strings.HasPrefix(err.Error(), "name: ") {
		t.Fatalf("clash not refused: %v", err)
	}
	// Ours: the state records its node container.
	if err := CheckClash(l, ownedState(1, 2), []string{"labctl-demo-01", "labctl-demo-02"}); err != nil {
		t.Fatalf("own clusters refused: %v", err)
	}
	// A state node that is not that cluster's container does not make it ours.
	s := ownedState(1)
	s.Clusters[0].Nodes[0].ID = "someone-else-control-plane"
	if err := CheckClash(l, s, []string{"labctl-demo-01"}); err == nil {
		t.Fatal("a cluster the state does not name was adopted")
	}
	// Other labs' and other people's clusters are none of our business.
	if err := CheckClash(l, &lab.State{}, []string{"kind", "labctl-demo-03", "labctl-other-01"}); err != nil {
		t.Fatalf("unrelated clusters refused: %v", err)
	}
}

func TestNames(t *testing.T) {
	if got := ClusterName("demo", 3); got != "labctl-demo-03" {
		t.Errorf("ClusterName = %q", got)
	}
	if got := NodeContainer("labctl-demo-03"); got != "labctl-demo-03-control-plane" {
		t.Errorf("NodeContainer = %q", got)
	}
	if got := NetworkName("demo"); got != "labctl-kind-demo" {
		t.Errorf("NetworkName = %q", got)
	}
}

func TestClusterConfig(t *testing.T) {
	// kind's own image brings kindnet: kind installs it.
	if k := clusterConfig("labctl-demo-01", KindestImage("1.34.4"), "10.244.0.0/16", false); k.Networking.DisableDefaultCNI || k.Nodes[0].Image != "docker.io/kindest/node:v1.34.4" {
		t.Errorf("kindest/node: networking %+v, image %s", k.Networking, k.Nodes[0].Image)
	}
	c := clusterConfig("labctl-demo-01", "localhost/labctl-kind-node:abc", "10.244.0.0/16", true)
	if len(c.Nodes) != 1 || c.Nodes[0].Role != "control-plane" || c.Nodes[0].Image != "localhost/labctl-kind-node:abc" {
		t.Errorf("nodes: %+v", c.Nodes)
	}
	if len(c.KubeadmConfigPatches) != 1 || !strings.Contains(c.KubeadmConfigPatches[0], "name: node1") {
		t.Errorf("the node is not named node1: %q", c.KubeadmConfigPatches)
	}
	if !c.Networking.DisableDefaultCNI || c.Networking.PodSubnet != "10.244.0.0/16" || c.Networking.APIServerAddress != "127.0.0.1" {
		t.Errorf("networking: %+v", c.Networking)
	}
}

func TestImageRecipeHash(t *testing.T) {
	r := ImageRecipe{Base: "localhost/labctl-node:1", Artifacts: "/a", ArtifactsHash: "h1", Kubernetes: "v1.34.4", Pause: "registry.k8s.io/pause:3.10.1", PodSubnet: "10.244.0.0/16"}
	h1, err := r.Hash()
	if err != nil {
		t.Fatal(err)
	}
	same := r
	same.Artifacts = "/elsewhere" // where the cache is does not change the image
	if h, _ := same.Hash(); h != h1 {
		t.Errorf("cache location changed the hash")
	}
	for name, change := range map[string]func(*ImageRecipe){
		"artifacts": func(r *ImageRecipe) { r.ArtifactsHash = "h2" },
		"base":      func(r *ImageRecipe) { r.Base = "localhost/labctl-node:2" },
		"subnet":    func(r *ImageRecipe) { r.PodSubnet = "10.200.0.0/16" },
		"version":   func(r *ImageRecipe) { r.Kubernetes = "v1.34.5" },
	} {
		c := r
		change(&c)
		if h, _ := c.Hash(); h == h1 {
			t.Errorf("%s: hash unchanged", name)
		}
	}
	files, _ := r.files()
	if files["kind/version"] != "v1.34.4\n" || !strings.Contains(files["etc/cni/net.d/10-labctl.conflist"], `"subnet": "10.244.0.0/16"`) ||
		!strings.Contains(files["etc/containerd/config.toml"], `sandbox_image = "registry.k8s.io/pause:3.10.1"`) {
		t.Errorf("image files do not carry the recipe: %v", files["kind/version"])
	}
}

func TestDetectRuntime(t *testing.T) {
	defer func(f func(string) (string, error)) { lookPath = f }(lookPath)
	dir := t.TempDir()
	lookPath = func(string) (string, error) { return "", errors.New("not found") }
	if _, err := DetectRuntime(context.Background(), dir); !errors.Is(err, ErrNoRuntime) {
		t.Fatalf("no runtime: %v", err)
	}
	lookPath = func(n string) (string, error) {
		if n == "podman" {
			return "/usr/bin/podman", nil
		}
		return "", errors.New("not found")
	}
	rt, err := DetectRuntime(context.Background(), dir)
	if err != nil || rt.Name != "podman" {
		t.Fatalf("podman: %v %+v", err, rt)
	}
	conf := filepath.Join(dir, "containers.conf")
	if len(rt.Env) != 1 || rt.Env[0] != "CONTAINERS_CONF="+conf {
		t.Errorf("env: %v", rt.Env)
	}
	b, _ := os.ReadFile(conf)
	if !strings.Contains(string(b), `runtime = "runc"`) || !strings.Contains(string(b), "nproc=32768:32768") {
		t.Errorf("containers.conf:\n%s", b)
	}
}
