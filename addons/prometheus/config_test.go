package prometheus

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	rbacv1 "k8s.io/api/rbac/v1"
)

type relabel struct {
	Source      []string `yaml:"source_labels"`
	Separator   *string  `yaml:"separator"`
	Regex       *string  `yaml:"regex"`
	Target      string   `yaml:"target_label"`
	Replacement *string  `yaml:"replacement"`
	Action      string   `yaml:"action"`
}

type job struct {
	Name        string           `yaml:"job_name"`
	HonorLabels bool             `yaml:"honor_labels"`
	SD          []map[string]any `yaml:"kubernetes_sd_configs"`
	Relabel     []relabel        `yaml:"relabel_configs"`
}

func jobs(t *testing.T) map[string]job {
	t.Helper()
	var c struct {
		ScrapeConfigs []job `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal([]byte(Config), &c); err != nil {
		t.Fatal(err)
	}
	out := map[string]job{}
	for _, j := range c.ScrapeConfigs {
		out[j.Name] = j
	}
	return out
}

// apply runs the rules on a discovered target as Prometheus' relabelling
// does (anchored RE2, `;` between source values, replace by default);
// nil when the target is dropped.
func apply(t *testing.T, rules []relabel, in map[string]string) map[string]string {
	t.Helper()
	l := maps.Clone(in)
	for _, r := range rules {
		re, sep, repl := "(.*)", ";", "$1"
		if r.Regex != nil {
			re = *r.Regex
		}
		if r.Separator != nil {
			sep = *r.Separator
		}
		if r.Replacement != nil {
			repl = *r.Replacement
		}
		rx, err := regexp.Compile("^(?:" + re + ")$")
		if err != nil {
			t.Fatalf("regex %q: %v", re, err)
		}
		var vals []string
		for _, s := range r.Source {
			vals = append(vals, l[s])
		}
		val := strings.Join(vals, sep)
		switch r.Action {
		case "keep", "drop":
			if rx.MatchString(val) != (r.Action == "keep") {
				return nil
			}
		case "", "replace":
			m := rx.FindStringSubmatchIndex(val)
			if m == nil {
				continue
			}
			res := string(rx.ExpandString(nil, repl, val, m))
			if res == "" {
				delete(l, r.Target)
			} else {
				l[r.Target] = res
			}
		case "labelmap":
			for _, k := range slices.Sorted(maps.Keys(l)) {
				if m := rx.FindStringSubmatchIndex(k); m != nil {
					l[string(rx.ExpandString(nil, repl, k, m))] = l[k]
				}
			}
		default:
			t.Fatalf("action %q not simulated", r.Action)
		}
	}
	return l
}

// The Service job, as the deck's slide annotates a Service: scraped at the
// endpoint's address on the annotated port, path and scheme, labelled with
// namespace, service, pod and node; without the annotation, not at all.
func TestServiceEndpointsJob(t *testing.T) {
	j := jobs(t)["kubernetes-service-endpoints"]
	if len(j.SD) != 1 || j.SD[0]["role"] != "endpointslice" || !j.HonorLabels {
		t.Fatalf("job %+v", j)
	}
	const a = "__meta_kubernetes_service_annotation_prometheus_io_"
	target := map[string]string{
		"__address__": "10.244.2.7:8080", "__scheme__": "http", "__metrics_path__": "/metrics",
		"__meta_kubernetes_namespace": "shop", "__meta_kubernetes_service_name": "web",
		"__meta_kubernetes_pod_name": "web-5d9f-abcde", "__meta_kubernetes_pod_node_name": "node2",
		"__meta_kubernetes_service_label_app": "web",
		a + "scrape":                          "true", a + "port": "9090", a + "path": "/admin/metrics", a + "scheme": "https", a + "param_format": "prometheus",
	}
	got := apply(t, j.Relabel, target)
	want := map[string]string{"__address__": "10.244.2.7:9090", "__scheme__": "https", "__metrics_path__": "/admin/metrics",
		"namespace": "shop", "service": "web", "pod": "web-5d9f-abcde", "node": "node2", "app": "web", "__param_format": "prometheus"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	// Only scrape "true": port, path and scheme fall back to the
	// endpoint's port, /metrics and http.
	plain := map[string]string{"__address__": "10.244.2.7:8080", "__scheme__": "http", "__metrics_path__": "/metrics",
		"__meta_kubernetes_namespace": "shop", "__meta_kubernetes_service_name": "web", a + "scrape": "true", a + "scheme": "gopher"}
	got = apply(t, j.Relabel, plain)
	if got["__address__"] != "10.244.2.7:8080" || got["__metrics_path__"] != "/metrics" || got["__scheme__"] != "http" {
		t.Errorf("defaults: %v", got)
	}
	if _, ok := got["pod"]; ok {
		t.Errorf("an endpoint with no pod got a pod label: %v", got)
	}
	for _, v := range []string{"", "false", "True"} {
		off := maps.Clone(target)
		off[a+"scrape"] = v
		if v == "" {
			delete(off, a+"scrape")
		}
		if apply(t, j.Relabel, off) != nil {
			t.Errorf("scrape %q: scraped", v)
		}
	}
	v6 := maps.Clone(target)
	v6["__address__"] = "[fd00:10:244::7]:8080"
	if got := apply(t, j.Relabel, v6); got["__address__"] != "[fd00:10:244::7]:9090" {
		t.Errorf("IPv6 address %q", got["__address__"])
	}
}

// The pod job: running pods with the annotation, at their IP and the
// annotated port (a pod need not declare it).
func TestPodsJob(t *testing.T) {
	j := jobs(t)["kubernetes-pods"]
	if len(j.SD) != 1 || j.SD[0]["role"] != "pod" || !j.HonorLabels {
		t.Fatalf("job %+v", j)
	}
	const a = "__meta_kubernetes_pod_annotation_prometheus_io_"
	target := map[string]string{
		"__address__": "10.244.1.9", "__scheme__": "http", "__metrics_path__": "/metrics",
		"__meta_kubernetes_namespace": "default", "__meta_kubernetes_pod_name": "exporter", "__meta_kubernetes_pod_ip": "10.244.1.9",
		"__meta_kubernetes_pod_phase": "Running", "__meta_kubernetes_pod_node_name": "node3", "__meta_kubernetes_pod_label_run": "exporter",
		a + "scrape": "true", a + "port": "9091", a + "path": "/demo/metrics",
	}
	got := apply(t, j.Relabel, target)
	want := map[string]string{"__address__": "10.244.1.9:9091", "__scheme__": "http", "__metrics_path__": "/demo/metrics",
		"namespace": "default", "pod": "exporter", "node": "node3", "run": "exporter"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	if _, ok := got["service"]; ok {
		t.Errorf("a pod target got a service label: %v", got)
	}
	// A declared container port, no port annotation: that port.
	declared := maps.Clone(target)
	declared["__address__"] = "10.244.1.9:8080"
	delete(declared, a+"port")
	if got := apply(t, j.Relabel, declared); got["__address__"] != "10.244.1.9:8080" {
		t.Errorf("declared port: %q", got["__address__"])
	}
	v6 := maps.Clone(target)
	v6["__meta_kubernetes_pod_ip"] = "fd00:10:244::9"
	if got := apply(t, j.Relabel, v6); got["__address__"] != "[fd00:10:244::9]:9091" {
		t.Errorf("IPv6 address %q", got["__address__"])
	}
	for _, phase := range []string{"Pending", "Succeeded", "Failed", "Unknown"} {
		p := maps.Clone(target)
		p["__meta_kubernetes_pod_phase"] = phase
		if apply(t, j.Relabel, p) != nil {
			t.Errorf("a %s pod is scraped", phase)
		}
	}
	off := maps.Clone(target)
	delete(off, a+"scrape")
	if apply(t, j.Relabel, off) != nil {
		t.Error("a pod without the annotation is scraped")
	}
}

// The annotation jobs read pods, Services and EndpointSlices: the role
// grants it, and nothing it does not need to write.
func TestDiscoveryRBAC(t *testing.T) {
	got := map[string]bool{}
	for _, o := range Objects("img:1") {
		cr, ok := o.(*rbacv1.ClusterRole)
		if !ok {
			continue
		}
		for _, rule := range cr.Rules {
			for _, g := range rule.APIGroups {
				for _, res := range rule.Resources {
					for _, v := range rule.Verbs {
						got[g+"/"+res+":"+v] = true
					}
				}
			}
		}
	}
	for _, res := range []string{"/pods", "/services", "/endpoints", "discovery.k8s.io/endpointslices"} {
		for _, v := range []string{"get", "list", "watch"} {
			if !got[res+":"+v] {
				t.Errorf("no %s %s (%v)", v, res, got)
			}
		}
	}
	for k := range got {
		if v := k[strings.LastIndex(k, ":")+1:]; v != "get" && v != "list" && v != "watch" {
			t.Errorf("the role may %s", k)
		}
	}
}
