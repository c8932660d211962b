package manifests

import (
	"maps"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/labctl/labctl/internal/golden"
)

func TestGolden(t *testing.T) {
	for name, opts := range map[string]Options{
		"dockercoins": {Namespace: DefaultNamespace},
		"custom":      {Namespace: "coins-03", Repo: "registry.example:5000/dc", Tag: "v0.2", RedisImage: "redis:7"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Render(opts)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, name+".golden.yaml", string(got))
		})
	}
}

func TestRejectsNamespaces(t *testing.T) {
	for _, ns := range []string{"", "default", "kube-system", "Dockercoins", "dc_1", "-x", strings.Repeat("a", 64)} {
		if _, err := Render(Options{Namespace: ns}); err == nil {
			t.Errorf("namespace %q accepted", ns)
		}
	}
	if _, err := Render(Options{Namespace: "dc", Repo: "x\ny: z"}); err == nil {
		t.Error("an image reference with a newline was accepted")
	}
}

// object is the part of a Kubernetes object the checks below read.
type object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Replicas *int   `json:"replicas"`
		Type     string `json:"type"`
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Ports []struct {
			Port       int    `json:"port"`
			TargetPort int    `json:"targetPort"`
			Protocol   string `json:"protocol"`
		} `json:"ports"`
		Template struct {
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
			Spec struct {
				Containers []struct {
					Name            string `json:"name"`
					Image           string `json:"image"`
					ImagePullPolicy string `json:"imagePullPolicy"`
					Ports           []struct {
						ContainerPort int `json:"containerPort"`
					} `json:"ports"`
				} `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

// serviceSelector reads a Service's selector (a plain map, unlike a
// Deployment's matchLabels).
type serviceSelector struct {
	Spec struct {
		Selector map[string]string `json:"selector"`
	} `json:"spec"`
}

func TestParse(t *testing.T) {
	out, err := Render(Options{Namespace: "dockercoins"})
	if err != nil {
		t.Fatal(err)
	}
	deployments := map[string]object{}
	services := map[string]object{}
	selectors := map[string]map[string]string{}
	var namespaces []string
	for _, doc := range strings.Split(string(out), "\n---\n") {
		var o object
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("%v in:\n%s", err, doc)
		}
		if o.Kind != "Namespace" && o.Metadata.Namespace != "dockercoins" {
			t.Errorf("%s/%s in namespace %q", o.Kind, o.Metadata.Name, o.Metadata.Namespace)
		}
		switch o.Kind {
		case "Namespace":
			namespaces = append(namespaces, o.Metadata.Name)
		case "Deployment":
			deployments[o.Metadata.Name] = o
		case "Service":
			services[o.Metadata.Name] = o
			var s serviceSelector
			_ = yaml.Unmarshal([]byte(doc), &s)
			selectors[o.Metadata.Name] = s.Spec.Selector
		default:
			t.Errorf("unexpected %s", o.Kind)
		}
	}
	if len(namespaces) != 1 || namespaces[0] != "dockercoins" {
		t.Errorf("namespaces %q", namespaces)
	}
	images := map[string]string{"hasher": "dockercoins/hasher:v0.1", "rng": "dockercoins/rng:v0.1",
		"webui": "dockercoins/webui:v0.1", "worker": "dockercoins/worker:v0.1", "redis": "redis:7.0"}
	if len(deployments) != len(images) {
		t.Errorf("%d deployments, want %d", len(deployments), len(images))
	}
	for name, image := range images {
		d, ok := deployments[name]
		if !ok {
			t.Errorf("no deployment %s", name)
			continue
		}
		want := map[string]string{"app": name, "run": name}
		if d.APIVersion != "apps/v1" || d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
			t.Errorf("deployment %s: %s replicas %v", name, d.APIVersion, d.Spec.Replicas)
		}
		if !maps.Equal(d.Metadata.Labels, want) || !maps.Equal(d.Spec.Template.Metadata.Labels, want) {
			t.Errorf("deployment %s labels %v, pod labels %v, want %v", name, d.Metadata.Labels, d.Spec.Template.Metadata.Labels, want)
		}
		for k, v := range d.Spec.Selector.MatchLabels {
			if d.Spec.Template.Metadata.Labels[k] != v {
				t.Errorf("deployment %s: selector %v does not match its pods", name, d.Spec.Selector.MatchLabels)
			}
		}
		cs := d.Spec.Template.Spec.Containers
		if len(cs) != 1 || cs[0].Name != name || cs[0].Image != image || cs[0].ImagePullPolicy != "IfNotPresent" {
			t.Errorf("deployment %s containers %+v", name, cs)
		}
	}
	ports := map[string]struct {
		port int
		typ  string
	}{"hasher": {80, "ClusterIP"}, "rng": {80, "ClusterIP"}, "redis": {6379, "ClusterIP"}, "webui": {80, "NodePort"}}
	if len(services) != len(ports) {
		t.Errorf("%d services, want %d", len(services), len(ports))
	}
	for name, want := range ports {
		s, ok := services[name]
		if !ok {
			t.Errorf("no service %s", name)
			continue
		}
		if s.Spec.Type != want.typ || len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Port != want.port || s.Spec.Ports[0].TargetPort != want.port {
			t.Errorf("service %s: %s %+v, want %s port %d", name, s.Spec.Type, s.Spec.Ports, want.typ, want.port)
		}
		pod := deployments[name].Spec.Template
		if len(selectors[name]) == 0 {
			t.Errorf("service %s has no selector", name)
		}
		for k, v := range selectors[name] {
			if pod.Metadata.Labels[k] != v {
				t.Errorf("service %s selector %v does not select the %s pods", name, selectors[name], name)
			}
		}
		if cp := pod.Spec.Containers[0].Ports; len(cp) != 1 || cp[0].ContainerPort != want.port {
			t.Errorf("deployment %s container ports %+v, want %d", name, cp, want.port)
		}
	}
}
