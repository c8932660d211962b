package traefik

import (
	"slices"
	"strings"
	"testing"
	"text/template"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/labctl/labctl/addons/internal/addontest"
)

const testImage = "localhost/labctl/traefik:v3.5.0"

func TestObjectsGolden(t *testing.T) {
	addontest.Golden(t, "objects.golden.yaml", Objects(testImage))
}

// What the course needs of the controller: every node, node1 included,
// answers on its own port 80; Ingresses without a class are Traefik's.
func TestObjects(t *testing.T) {
	objs := Objects(testImage)
	a := addontest.NodeAgent(t, objs, "kube-system")
	ds, role, p := a.DaemonSet, a.Role, a.Pod
	class := addontest.One[*networkingv1.IngressClass](t, objs)
	if ds.Name != "traefik-ingress-controller" || ds.Namespace != "kube-system" {
		t.Errorf("DaemonSet %s/%s, the deck's is kube-system/traefik-ingress-controller", ds.Namespace, ds.Name)
	}
	if !p.HostNetwork || p.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
		t.Errorf("hostNetwork %v, dnsPolicy %s", p.HostNetwork, p.DNSPolicy)
	}
	if !slices.ContainsFunc(p.Tolerations, func(tl corev1.Toleration) bool {
		return tl.Key == "node-role.kubernetes.io/control-plane" && tl.Operator == corev1.TolerationOpExists && tl.Effect == corev1.TaintEffectNoSchedule
	}) {
		t.Errorf("no toleration for node1's control-plane taint: %+v", p.Tolerations)
	}
	c := p.Containers[0]
	if c.Image != testImage {
		t.Errorf("image %s", c.Image)
	}
	if len(c.Command) != 0 {
		t.Errorf("command %v overrides upstream's entrypoint", c.Command)
	}
	args := strings.Join(c.Args, " ")
	for _, w := range []string{"--entryPoints.web.address=:80", "--providers.kubernetesingress=true", "--ping=true", "--global.sendAnonymousUsage=false", "--global.checkNewVersion=false"} {
		if !strings.Contains(args, w) {
			t.Errorf("args %q lack %q", args, w)
		}
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/ping" || c.ReadinessProbe.HTTPGet.Port.IntValue() != DashboardPort {
		t.Errorf("readiness probe %+v", c.ReadinessProbe)
	}
	if sc := c.SecurityContext; sc == nil || !slices.Contains(sc.Capabilities.Add, "NET_BIND_SERVICE") || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("security context %+v: port 80 needs NET_BIND_SERVICE and nothing else", sc)
	}
	if class.Annotations[networkingv1.AnnotationIsDefaultIngressClass] != "true" || class.Spec.Controller != Controller {
		t.Errorf("IngressClass %+v", class)
	}
	// The Ingress provider's informers, and the status it writes.
	for _, need := range [][2]string{{"networking.k8s.io", "ingresses"}, {"networking.k8s.io", "ingressclasses"}, {"", "services"},
		{"discovery.k8s.io", "endpointslices"}, {"", "secrets"}, {"", "nodes"}} {
		if !addontest.Grants(role.Rules, need[0], need[1], "watch") {
			t.Errorf("ClusterRole cannot watch %s/%s", need[0], need[1])
		}
	}
	if !addontest.Grants(role.Rules, "networking.k8s.io", "ingresses/status", "update") {
		t.Error("ClusterRole cannot update Ingress status")
	}
}

func TestBuildSpec(t *testing.T) {
	b := Build()
	if b.Module != Module || b.Version != Version || b.Package != "./cmd/traefik" || b.Ref != testImage {
		t.Errorf("build %+v", b)
	}
	if !strings.Contains(b.LDFlags, Module+"/pkg/version.Version="+Version) {
		t.Errorf("ldflags %q do not stamp the version", b.LDFlags)
	}
	// Traefik's dashboard handler parses index.html as a text/template with
	// the API's URL: the stand-in must parse and use it.
	idx, ok := b.Overlay["webui/static/index.html"]
	if !ok {
		t.Fatal("no webui/static/index.html: go:embed static fails without it")
	}
	tpl, err := template.New("index").Parse(string(idx))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := tpl.Execute(&out, struct{ APIUrl string }{"/api/"}); err != nil || !strings.Contains(out.String(), `fetch("/api/http/routers")`) {
		t.Errorf("index renders %v:\n%s", err, out.String())
	}
}
