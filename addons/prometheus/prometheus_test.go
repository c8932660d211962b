package prometheus

import (
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/labctl/labctl/addons/internal/addontest"
)

func TestObjectsGolden(t *testing.T) {
	addontest.Golden(t, "objects.golden.yaml", Objects("localhost/labctl/prometheus:v3.16.0"))
}

// What the metrics chapter needs: a NodePort, the configuration mounted
// where the flags say, read access to nodes and their proxy.
func TestObjects(t *testing.T) {
	objs := Objects("img:1")
	var refs []string
	for _, r := range addontest.Refs(t, objs) {
		refs = append(refs, r.String())
	}
	for _, o := range objs {
		switch o := o.(type) {
		case *corev1.Service:
			if o.Spec.Type != corev1.ServiceTypeNodePort || o.Spec.Ports[0].NodePort != NodePort || o.Name != "prometheus-server" {
				t.Errorf("service %s: %+v", o.Name, o.Spec)
			}
		case *appsv1.Deployment:
			p := o.Spec.Template.Spec
			c := p.Containers[0]
			if c.Image != "img:1" || p.ServiceAccountName != Name || len(c.Command) != 0 {
				t.Errorf("image %q, service account %q, command %v", c.Image, p.ServiceAccountName, c.Command)
			}
			if !slices.Contains(c.Args, "--config.file=/etc/prometheus/prometheus.yml") || !slices.Contains(c.Args, "--storage.tsdb.path=/data") {
				t.Errorf("args %v", c.Args)
			}
			mounts := map[string]string{}
			for _, m := range c.VolumeMounts {
				mounts[m.Name] = m.MountPath
			}
			if mounts["config"] != "/etc/prometheus" || mounts["data"] != "/data" {
				t.Errorf("mounts %v", mounts)
			}
			for _, m := range c.VolumeMounts {
				if m.MountPath == "/"+Build().Binary {
					t.Errorf("volume %s mounted over the binary", m.Name)
				}
			}
			if o.Spec.Template.Annotations[configHash] == "" {
				t.Error("no configuration hash on the pod template: a new configuration would not restart the server")
			}
		case *rbacv1.ClusterRole:
			var got []string
			for _, r := range o.Rules {
				for _, res := range r.Resources {
					for _, v := range r.Verbs {
						got = append(got, res+":"+v)
					}
				}
			}
			for _, w := range []string{"nodes:list", "nodes:watch", "nodes/proxy:get"} {
				if !slices.Contains(got, w) {
					t.Errorf("cluster role lacks %s: %v", w, got)
				}
			}
		case *corev1.ConfigMap:
			if o.Data["prometheus.yml"] != Config {
				t.Error("the ConfigMap does not hold Config")
			}
		}
	}
	want := []string{"Namespace/prometheus", "ServiceAccount prometheus/prometheus-server", "ClusterRole/labctl:prometheus",
		"ClusterRoleBinding/labctl:prometheus", "ConfigMap prometheus/prometheus-server", "Deployment prometheus/prometheus-server",
		"Service prometheus/prometheus-server"}
	if !slices.Equal(refs, want) {
		t.Errorf("objects:\n%s\nwant:\n%s", strings.Join(refs, "\n"), strings.Join(want, "\n"))
	}
}

// The cAdvisor job scrapes through the API server with verified TLS and
// the service account's token, and keeps the node name as instance.
func TestConfig(t *testing.T) {
	var c struct {
		ScrapeConfigs []struct {
			JobName string           `yaml:"job_name"`
			Scheme  string           `yaml:"scheme"`
			TLS     map[string]any   `yaml:"tls_config"`
			Auth    map[string]any   `yaml:"authorization"`
			SD      []map[string]any `yaml:"kubernetes_sd_configs"`
			Relabel []map[string]any `yaml:"relabel_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal([]byte(Config), &c); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, j := range c.ScrapeConfigs {
		if j.JobName != "kubernetes-cadvisor" {
			continue
		}
		found = true
		if j.Scheme != "https" || j.TLS["ca_file"] != "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt" || j.TLS["insecure_skip_verify"] != nil {
			t.Errorf("TLS: scheme %q, %v", j.Scheme, j.TLS)
		}
		if j.Auth["credentials_file"] != "/var/run/secrets/kubernetes.io/serviceaccount/token" {
			t.Errorf("authorization %v", j.Auth)
		}
		if len(j.SD) != 1 || j.SD[0]["role"] != "node" {
			t.Errorf("discovery %v", j.SD)
		}
		var path, addr string
		for _, r := range j.Relabel {
			switch r["target_label"] {
			case "__metrics_path__":
				path, _ = r["replacement"].(string)
			case "__address__":
				addr, _ = r["replacement"].(string)
			case "instance":
				t.Errorf("instance relabelled (%v): the node role's node name is what the deck groups by", r)
			}
		}
		if addr != "kubernetes.default.svc:443" || path != "/api/v1/nodes/${1}/proxy/metrics/cadvisor" {
			t.Errorf("scrape address %q path %q", addr, path)
		}
	}
	if !found {
		t.Error("no kubernetes-cadvisor job")
	}
}

func TestBuildSpec(t *testing.T) {
	b := Build()
	if b.Module != Module || b.Version != Version || b.Package != "./cmd/prometheus" || b.Assets == nil || b.Assets.Dir != "/static" {
		t.Errorf("build %+v", b)
	}
	if !strings.Contains(b.LDFlags, "github.com/prometheus/common/version.Version=3.16.0") {
		t.Errorf("ldflags %q do not stamp the version", b.LDFlags)
	}
	if Build().Assets.Recipe != b.Assets.Recipe {
		t.Error("the UI's recipe is not stable")
	}
	ui := UI()
	ui.PNPM = "0"
	if ui.Recipe("v20") == UI().Recipe("v20") {
		t.Error("the UI recipe ignores pnpm's version")
	}
}
