package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestParseDefaults(t *testing.T) {
	l, err := Parse("lab.yaml", []byte("name: k8s-101\n"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Attendees != 1 || l.NodesPerCluster != 4 || l.Login.User != "k8s" || l.Kubernetes.Version != DefaultVersion ||
		l.Provider.Type != "local" || l.SSH.Parallel != 50 || l.Coins.Namespace != "dockercoins" || l.Kubernetes.CNI != "bridge" || l.Kubernetes.Source != "cache" {
		t.Fatalf("defaults not applied: %+v", l)
	}
}

func TestParseFullExample(t *testing.T) {
	src := `
name: k8s-101
attendees: 2
nodesPerCluster: 3
login: {user: k8s}
kubernetes: {version: "1.34.4", cni: weave}
provider:
  type: inventory
  clusters:
    - [{address: 203.0.113.10}, {address: 203.0.113.11, port: 2222}, {address: node-c.example.com}]
    - [{address: 203.0.113.20}, {address: 203.0.113.21}, {address: 203.0.113.22, privateAddress: 10.0.0.22}]
ssh: {user: ubuntu, parallel: 20, bastion: {address: 203.0.113.5}}
addons: [metrics-server, portworx, traefik, helm]
coins: {enabled: true, namespace: dockercoins}
cards: {paper: A4, event: "K8s 101", url: "https://container.training/", text: {sshCommand: "log in with"}}
`
	l, err := Parse("lab.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Provider.Clusters[0][1]; got.Port != 2222 || got.Address != "203.0.113.11" {
		t.Fatalf("inventory host: %+v", got)
	}
	if l.Provider.Clusters[1][0].Port != 22 || l.SSH.Bastion.Port != 22 {
		t.Fatal("ports not defaulted to 22")
	}
	if l.SSH.User != "ubuntu" || l.SSH.Parallel != 20 || !l.Coins.Enabled || l.Cards.Paper != "A4" || len(l.Addons) != 4 {
		t.Fatalf("fields lost: %+v", l)
	}
}

func TestParseBadInput(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"unknown top-level field", "name: x\natendees: 3\n", `lab.yaml:2: unknown field "atendees" (did you mean "attendees"?)`},
		{"unknown nested field", "kubernetes:\n  versoin: \"1.34.4\"\n", `lab.yaml:2: unknown field "kubernetes.versoin" (did you mean "version"?)`},
		{"unknown field in inventory host", "provider:\n  type: inventory\n  clusters:\n    - [{address: 1.2.3.4, prot: 22}]\n", `lab.yaml:4: unknown field "provider.clusters[0][0].prot"`},
		{"attendees zero", "attendees: 0\n", "attendees: 0 is out of range (1 to 500)"},
		{"nodes zero", "nodesPerCluster: 0\n", "nodesPerCluster: 0 is out of range (1 to 10)"},
		{"attendees null is the default", "attendees:\n", ""},
		{"attendees too many", "attendees: 10000\n", "attendees: 10000 is out of range (1 to 500)"},
		{"attendees negative", "attendees: -2\n", "attendees: -2 is out of range"},
		{"attendees not a number", "attendees: many\n", `lab.yaml:1: attendees: expected a whole number, got "many"`},
		{"nodes too many", "nodesPerCluster: 11\n", "nodesPerCluster: 11 is out of range (1 to 10)"},
		{"unknown version", "kubernetes: {version: \"1.99.0\"}\n", "kubernetes.version: 1.99.0 is not supported (supported: 1.30 to 1.37)"},
		{"old version", "kubernetes: {version: \"1.15.3\"}\n", "kubernetes.version: 1.15.3 is not supported"},
		{"malformed version", "kubernetes: {version: \"latest\"}\n", `kubernetes.version: "latest" is not a version like`},
		{"unquoted version", "kubernetes: {version: 1.30}\n", "lab.yaml:1: kubernetes.version: write 1.30 in quotes"},
		{"unknown provider", "provider: {type: aws}\n", `provider.type: "aws" is not one of local, inventory, pulumi, kind`},
		{"weave registry with a scheme", "kubernetes: {weave: {registry: \"https://ghcr.io/weaveworks\"}}\n", `kubernetes.weave.registry: "https://ghcr.io/weaveworks" is not an image repository like docker.io/weaveworks`},
		{"weave registry uppercase path", "kubernetes: {weave: {registry: docker.io/WeaveWorks}}\n", `kubernetes.weave.registry: "docker.io/WeaveWorks" is not an image repository`},
		{"weave mirror with a port", "kubernetes: {weave: {registry: \"mirror.example.com:5000/weaveworks/\"}}\n", ""},
		{"weave version with a colon", "kubernetes: {weave: {version: \"2.8:1\"}}\n", `kubernetes.weave.version: "2.8:1" is not an image tag like 2.8.1`},
		{"weave misspelt", "kubernetes: {weave: {registy: x}}\n", `lab.yaml:1: unknown field "kubernetes.weave.registy" (did you mean "registry"?)`},
		{"unknown cni", "kubernetes: {cni: flannel}\n", `kubernetes.cni: "flannel" is not one of`},
		{"unknown addon", "addons: [metrics-server, istio]\n", `addons[1]: unknown add-on "istio"; known: metrics-server`},
		{"misspelt addon", "addons: [metric-server]\n", `addons[0]: unknown add-on "metric-server" (did you mean "metrics-server"?)`},
		{"addons not a list", "addons: metrics-server\n", "lab.yaml:1: addons: expected a list"},
		{"bad name", "name: My Lab\n", `name: "My Lab" must be lowercase`},
		{"root login", "login: {user: root}\n", `login.user: "root" is not a valid attendee user name`},
		{"login is the ssh user", "ssh: {user: ubuntu}\nlogin: {user: ubuntu}\n", `login.user: "ubuntu" is also ssh.user`},
		{"coins in default", "coins: {namespace: default}\n", `coins.namespace: "default" is not allowed`},
		{"bad paper", "cards: {paper: A5}\n", `cards.paper: "A5" is not Letter or A4`},
		{"inventory without hosts", "provider: {type: inventory}\n", "provider.clusters: the inventory provider needs at least one cluster"},
		{"inventory count mismatch", "attendees: 2\nprovider:\n  type: inventory\n  clusters: [[{address: 1.2.3.4}]]\n", "provider.clusters: 1 clusters listed for 2 attendees"},
		{"inventory bad port", "provider:\n  type: inventory\n  clusters: [[{address: 1.2.3.4, port: 70000}]]\n", "provider.clusters[0][0].port: 70000 is not a TCP port"},
		{"inventory bad address", "provider:\n  type: inventory\n  clusters: [[{address: \"not an address!\"}]]\n", `provider.clusters[0][0].address: "not an address!" is neither`},
		{"inventory duplicate host", "provider:\n  type: inventory\n  clusters: [[{address: 1.2.3.4}, {address: 1.2.3.4}]]\n", "provider.clusters[0][1]: 1.2.3.4:22 is already provider.clusters[0][0]"},
		{"hosts for local", "provider: {type: local, clusters: [[{address: 1.2.3.4}]]}\n", "provider.clusters: only the inventory provider"},
		{"unreadable key", "ssh: {identityFile: /nonexistent/id_ed25519}\n", "ssh.identityFile: cannot read /nonexistent/id_ed25519: no such file or directory"},
		{"bad timeout", "ssh: {timeout: soon}\n", `ssh.timeout: "soon" is not a duration`},
		{"bad parallel", "ssh: {parallel: 0}\n", "ssh.parallel: 0 is out of range (1 to 1000)"},
		{"password with a newline", "login: {password: \"abcdefgh\\nPASSWORD\\ntouch /tmp/PWNED\"}\n", "login.password: must be printable ASCII characters (no newline, tab or other control character)"},
		{"password with a colon", "login: {password: \"abcd:efgh\"}\n", `login.password: must not contain ":"`},
		{"password too short", "login: {password: abc}\n", "login.password: 3 characters; use at least 8"},
		{"password not ASCII", "login: {password: \"pässwörter\"}\n", "login.password: must be printable ASCII"},
		{"password with shell characters", "login: {password: \"it's $(a) `b` \\\" ok\"}\n", ""},
		{"kind multi-node", "provider: {type: kind}\nnodesPerCluster: 2\n", "nodesPerCluster: the kind provider makes single-node clusters"},
		{"kind three nodes", "provider: {type: kind}\nnodesPerCluster: 3\n", "nodesPerCluster: the kind provider makes single-node clusters; set it to 1"},
		{"kind one node", "provider: {type: kind}\nnodesPerCluster: 1\n", ""},
		{"kind nodes absent", "provider: {type: kind}\n", ""},
		{"kind with weave", "provider: {type: kind}\nkubernetes: {cni: weave}\n", "kubernetes.cni: the kind provider's nodes come with their own pod network (bridge), not weave"},
		{"kind with packages (kindest/node)", "provider: {type: kind}\nkubernetes: {source: packages}\n", ""},
		{"kind with a subnet", "provider: {type: kind, subnet: 10.89.7.0/24}\n", "provider.subnet: only the local provider takes a subnet"},
		{"not yaml", "name: [unclosed\n", "lab.yaml: not valid YAML"},
		{"top level list", "- a\n- b\n", "lab.yaml:1: (top level): expected a mapping of fields"},
		{"webterm enabled not a bool", "webterm: {enabled: sure}\n", "webterm.enabled"},
		{"webterm port not a number", "webterm: {port: http}\n", "webterm.port"},
		{"webterm port out of range", "webterm: {port: 70000}\n", "webterm.port: 70000 is out of range"},
		{"webterm on the ssh port", "webterm: {port: 22}\n", "webterm.port: 22 is used by SSH"},
		{"webterm cert without key", "webterm: {tls: {cert: /etc/hostname}}\n", "webterm.tls: give both cert and key"},
		{"webterm cert missing", "webterm: {tls: {cert: /nonexistent.crt, key: /nonexistent.key}}\n", "webterm.tls.cert"},
		{"webterm cert not a cert", "webterm: {tls: {cert: /etc/hostname, key: /etc/hostname}}\n", "webterm.tls: /etc/hostname and /etc/hostname are not a certificate and its key"},
		{"webterm on kind", "provider: {type: kind}\nwebterm: {enabled: true}\n", "webterm.enabled: the kind provider's nodes are not reachable"},
		{"webterm off", "webterm: {enabled: false, port: 8080}\n", ""},
		{"spares zero", "spares: 0\n", ""},
		{"spares", "attendees: 3\nspares: 2\n", ""},
		{"spares negative", "spares: -1\n", "spares: -1 is out of range (0 to 499)"},
		{"spares not a number", "spares: two\n", `lab.yaml:1: spares: expected a whole number, got "two"`},
		{"spares a fraction", "spares: 1.5\n", `lab.yaml:1: spares: expected a whole number`},
		{"spares above the limit", "attendees: 450\nspares: 51\n", "spares: 450 attendees and 51 spares make 501 clusters, above the limit of 500"},
		{"spares at the limit", "attendees: 450\nspares: 50\n", ""},
		{"spares on pulumi", "attendees: 2\nprovider: {type: pulumi}\nspares: 1\n", ""},
		{"spares on pulumi's local target", "provider: {type: pulumi, pulumi: {target: local}}\nspares: 1\n", ""},
		{"inventory spares mismatch", "attendees: 1\nspares: 1\nprovider:\n  type: inventory\n  clusters: [[{address: 1.2.3.4}]]\n", "provider.clusters: 1 clusters listed for 1 attendees and 1 spares"},
		{"inventory with a spare", "spares: 1\nprovider:\n  type: inventory\n  clusters: [[{address: 1.2.3.4}], [{address: 1.2.3.5}]]\n", ""},
		{"inventory all spares", "spares: 1\nprovider:\n  type: inventory\n  clusters: [[{address: 1.2.3.4}]]\n", "attendees: 0 is out of range"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("lab.yaml", []byte(c.src))
			if c.want == "" {
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want error containing %q, got none", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q\n does not contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func TestLoadPrecedenceFileEnvFlag(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lab.yaml")
	os.WriteFile(path, []byte("name: prec\nattendees: 3\nssh: {parallel: 10}\nkubernetes: {version: \"1.33.1\"}\n"), 0o644)

	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.Int("parallel", 50, "")
	flags := map[string]*pflag.Flag{"ssh.parallel": fs.Lookup("parallel")}

	// File only (the flag's default does not override the file).
	l, err := Load(LoadOptions{Path: path, Environ: []string{}, Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	if l.SSH.Parallel != 10 || l.Attendees != 3 {
		t.Fatalf("file values lost: parallel %d attendees %d", l.SSH.Parallel, l.Attendees)
	}
	// Environment over file.
	env := []string{"LABCTL_SSH_PARALLEL=20", "LABCTL_ATTENDEES=5", "LABCTL_KUBERNETES_VERSION=1.34.2", "LABCTL_KUBERNETES_WEAVE_REGISTRY=ghcr.io/weaveworks/launcher"}
	l, err = Load(LoadOptions{Path: path, Environ: env, Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	if l.SSH.Parallel != 20 || l.Attendees != 5 || l.Kubernetes.Version != "1.34.2" || l.Kubernetes.Weave.Registry != "ghcr.io/weaveworks/launcher" {
		t.Fatalf("environment did not override: %+v", l)
	}
	// Flag over environment.
	fs.Parse([]string{"--parallel", "30"})
	l, err = Load(LoadOptions{Path: path, Environ: env, Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	if l.SSH.Parallel != 30 {
		t.Fatalf("flag did not override the environment: %d", l.SSH.Parallel)
	}
	// A bad environment value is named.
	_, err = Load(LoadOptions{Path: path, Environ: []string{"LABCTL_ATTENDEES=20000"}})
	if err == nil || !strings.Contains(err.Error(), "attendees: 20000 is out of range") {
		t.Fatalf("want attendees error, got %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(LoadOptions{Path: filepath.Join(t.TempDir(), "nope.yaml")})
	if err == nil || !strings.Contains(err.Error(), "labctl init") {
		t.Fatalf("want a hint to run labctl init, got %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("name: k8s\nattendees: 3\n"))
	f.Add([]byte("provider:\n  type: inventory\n  clusters: [[{address: 1.2.3.4, port: 22}]]\n"))
	f.Add([]byte("kubernetes: {version: 1.30}\n"))
	f.Add([]byte("cards: {text: {a: b}}\naddons: [helm]\n"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse("lab.yaml", data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		// Whatever parses is valid.
		if err := l.Validate(); err != nil {
			t.Fatalf("parsed lab fails validation: %v", err)
		}
		if l.Attendees < 1 || l.Attendees > MaxAttendees || l.NodesPerCluster < 1 || l.NodesPerCluster > MaxNodesPerCluster {
			t.Fatalf("out-of-range lab accepted: %+v", l)
		}
	})
}

func TestCloudDefaultsFollowTheCourse(t *testing.T) {
	l, err := Parse("lab.yaml", []byte("provider:\n  type: inventory\n  clusters: [[{address: 203.0.113.1}]]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if w := l.Kubernetes.Weave; w.Registry != "docker.io/weaveworks" || w.Version != "2.8.1" {
		t.Errorf("weave images default to %+v", w)
	}
	if l.Kubernetes.CNI != "weave" || l.Kubernetes.Source != "packages" || l.NodesPerCluster != 1 || l.Attendees != 1 {
		t.Fatalf("inventory defaults: %+v", l.Kubernetes)
	}
}

func TestPulumiSettings(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"provider: {type: pulumi, pulumi: {target: gcp}}\n", `provider.pulumi.target: "gcp" is not one of aws, local`},
		{"provider: {type: pulumi, aws: {region: mars-1}}\n", `provider.aws.region: "mars-1" is not an AWS region`},
		{"provider: {type: pulumi, aws: {instanceType: big}}\n", `provider.aws.instanceType: "big"`},
		{"provider: {type: pulumi, aws: {vpc: mine}}\n", `provider.aws.vpc: "mine"`},
		{"provider: {type: pulumi, aws: {allowFrom: [10.0.0.1]}}\n", `provider.aws.allowFrom[0]: "10.0.0.1" is not a CIDR`},
		{"provider: {type: pulumi, pulumi: {backend: 'ftp://x'}}\n", `provider.pulumi.backend: "ftp://x"`},
		{"provider: {type: pulumi, pulumi: {target: local}, aws: {region: us-east-1}}\n", "provider.aws: set, but provider.pulumi.target is local"},
		{"provider: {type: local, pulumi: {target: local}}\n", "provider.pulumi: only the pulumi provider"},
	} {
		_, err := Parse("lab.yaml", []byte(tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.body, err, tc.want)
		}
	}
	l, err := Parse("lab.yaml", []byte("provider: {type: pulumi}\n"))
	if err != nil {
		t.Fatal(err)
	}
	a := l.Provider.AWS
	if l.Provider.Pulumi.Target != "aws" || a.Region != "us-east-1" || a.InstanceType != "t3.medium" || a.DiskSize != 20 || a.VPC != "default" || a.AllowFrom[0] != "0.0.0.0/0" {
		t.Errorf("defaults: %+v %+v", l.Provider.Pulumi, a)
	}
	if l.Kubernetes.Source != "packages" || l.LocalNodes() {
		t.Errorf("aws nodes: source %s", l.Kubernetes.Source)
	}
	l, err = Parse("lab.yaml", []byte("provider: {type: pulumi, pulumi: {target: local}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !l.LocalNodes() || l.Kubernetes.Source != "cache" || l.Kubernetes.CNI != "bridge" {
		t.Errorf("local target: %+v", l.Kubernetes)
	}
}

func TestKindDefaults(t *testing.T) {
	l, err := Parse("lab.yaml", []byte("name: k\nprovider: {type: kind}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if l.NodesPerCluster != 1 || l.Kubernetes.CNI != "bridge" || l.Kubernetes.Source != "cache" {
		t.Errorf("kind defaults: nodes %d, cni %s, source %s", l.NodesPerCluster, l.Kubernetes.CNI, l.Kubernetes.Source)
	}
}
