package nodeprep

import (
	"context"
	"strings"
	"testing"

	"github.com/labctl/labctl/internal/golden"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/remote"
)

func sampleData(source string) NodeData {
	return NodeData{
		Cluster: 3, Node: "node2", PublicIP: "203.0.113.12",
		Hosts: []Host{
			{Name: "node1", IP: "10.0.3.11", HostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1"},
			{Name: "node2", IP: "10.0.3.12", HostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2"},
		},
		User: "k8s", Password: "abcde-fghjk-mnpqr",
		PrivateKey:   "-----BEGIN OPENSSH PRIVATE KEY-----\nFAKEKEYFORGOLDENTESTS\n-----END OPENSSH PRIVATE KEY-----\n",
		PublicKey:    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPubPubPubPubPubPubPubPubPubPubPubPubPubPub k8s@cluster03",
		MaxAuthTries: 20, Packages: []string{"containerd", "runc", "git"},
		Version: "1.34.4", Minor: "1.34", Source: source, Stage: "/var/lib/labctl/stage",
		PauseImage: "registry.k8s.io/pause:3.10.1", PodSubnet: "10.244.0.0/16", Mirror: "127.0.0.1:5999", PortworxSize: "10G", LoopDevice: "/dev/loop4", Docker: true,
		Downloads: map[string][]Download{
			"amd64": {{Name: "helm", URL: "https://get.example/helm-amd64.tar.gz", SHA256: "aa11", Member: "linux-amd64/helm"},
				{Name: "kubectx", URL: "https://get.example/kubectx.tar.gz", SHA256: "bb22", Member: "kubectx"}},
			"arm64": {{Name: "helm", URL: "https://get.example/helm-arm64.tar.gz", SHA256: "cc33", Member: "linux-arm64/helm"}},
		},
	}
}

// sampleUploads are the artifact cache's files (Source "cache").
func sampleUploads() Uploads {
	return Uploads{Kubernetes: []File{
		{Source: "/cache/bin/kubeadm", SHA256: strings.Repeat("a", 64), Dest: "/var/lib/labctl/stage/kubeadm", Mode: 0o755},
		{Source: "/cache/images.tar", SHA256: strings.Repeat("b", 64), Dest: "/var/lib/labctl/stage/images.tar", Mode: 0o644},
	}, KubernetesImages: []string{"registry.k8s.io/kube-apiserver:v1.34.4", "registry.k8s.io/pause:3.10.1", "registry.k8s.io/etcd:3.6.5-0"}}
}

// TestStepScriptsGolden shows every change to what runs on nodes as a diff.
func TestStepScriptsGolden(t *testing.T) {
	for _, source := range []string{"packages", "cache"} {
		var up Uploads
		if source == "cache" {
			up = sampleUploads()
		}
		steps, err := Steps(sampleData(source), up)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range steps {
			if s.Name == "kubernetes" || s.Name == "tools" {
				s.Name += "-" + source
			} else if source == "cache" {
				continue
			}
			checkGolden(t, s.Name, s.Script)
		}
	}
	// Container nodes (local provider) share the host's kernel.
	d := sampleData("cache")
	d.SharedKernel = true
	steps, err := Steps(d, Uploads{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if s.Name == "runtime" || s.Name == "portworx" {
			checkGolden(t, s.Name+"-shared", s.Script)
		}
	}
}

// The cache's images.tar is imported by preload's script, which must know
// what it brings; without an images.tar there is nothing to import.
func TestKubeImagesImport(t *testing.T) {
	up := sampleUploads()
	steps, err := Steps(sampleData("cache"), up)
	if err != nil {
		t.Fatal(err)
	}
	k := steps[4]
	if k.Name != "kubernetes" || !strings.Contains(k.Script, "# preload: import /var/lib/labctl/stage/images.tar ") ||
		!strings.Contains(k.Script, "\nrm -f /var/lib/labctl/stage/images.tar\n") {
		t.Errorf("kubernetes step:\n%s", k.Script)
	}
	up.KubernetesImages = append(up.KubernetesImages, "registry.k8s.io/coredns/coredns:v1.12.1")
	if more, _ := Steps(sampleData("cache"), up); more[4].Digest() == k.Digest() {
		t.Error("another image list keeps the kubernetes step's digest")
	}
	up.KubernetesImages = nil
	if _, err := Steps(sampleData("cache"), up); err == nil || !strings.Contains(err.Error(), "no images named") {
		t.Errorf("images.tar without its images: %v", err)
	}
	up.Kubernetes = up.Kubernetes[:1]
	if steps, err := Steps(sampleData("cache"), up); err != nil || strings.Contains(steps[4].Script, "# preload: import") {
		t.Errorf("no images.tar: %v", err)
	}
}

func checkGolden(t *testing.T, name, script string) {
	t.Helper()
	golden.Check(t, name+".sh.golden", script)
}

// TestProbeGolden shows every change to what the probe asks of a node.
func TestProbeGolden(t *testing.T) {
	d := sampleData("cache")
	d.SharedKernel = true
	steps, err := Steps(d, Uploads{})
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "probe", probeScript(steps))
}

func TestStepsCarryChecksAndSecrets(t *testing.T) {
	d0 := sampleData("cache")
	steps, err := Steps(d0, Uploads{})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, s := range steps {
		names = append(names, s.Name)
		// A step without a check is never repaired once recorded.
		if strings.TrimSpace(s.Check) == "" {
			t.Errorf("step %s has no check", s.Name)
		}
		if strings.Contains(s.Check, d0.Password) || strings.Contains(s.Check, "PRIVATE KEY") {
			t.Errorf("step %s's check carries a secret: the probe is logged", s.Name)
		}
		if s.Name == "login" {
			// In the script as base64, in the secrets in clear and as base64.
			if len(s.Secrets) != 4 || s.Secrets[0] != "abcde-fghjk-mnpqr" || strings.Contains(s.Script, "abcde-fghjk-mnpqr") || !strings.Contains(s.Script, s.Secrets[2]) {
				t.Fatalf("login step must carry the password and key as secrets, and not in clear: %q", s.Secrets)
			}
		}
	}
	if strings.Join(names, ",") != "hostname,packages,runtime,login,kubernetes,tools,portworx" {
		t.Fatalf("step order: %v", names)
	}
	d := sampleData("cache")
	d.PortworxSize = "0"
	steps, _ = Steps(d, Uploads{})
	for _, s := range steps {
		if s.Name == "portworx" {
			t.Fatal("portworxSize 0 must skip the loop device")
		}
	}
}

func TestDigestChangesWithInputs(t *testing.T) {
	a, _ := Steps(sampleData("cache"), Uploads{})
	d := sampleData("cache")
	d.Password = "other-other-other"
	b, _ := Steps(d, Uploads{})
	if a[3].Digest() == b[3].Digest() {
		t.Fatal("a new password must change the login step's digest")
	}
	if a[0].Digest() != b[0].Digest() {
		t.Fatal("the hostname step does not depend on the password")
	}
	c, _ := Steps(sampleData("cache"), Uploads{Kubernetes: []File{{Dest: "/x", SHA256: "aa", Mode: 0o755}}})
	if c[4].Digest() == a[4].Digest() {
		t.Fatal("uploaded files must be part of the kubernetes step's digest")
	}
}

func TestPlanActsOnlyOnDifferences(t *testing.T) {
	steps, _ := Steps(sampleData("cache"), Uploads{})
	facts := map[string]fact{}
	for _, s := range steps {
		facts[s.Name] = fact{digest: s.Digest(), ok: true}
	}
	if todo := plan(steps, facts); len(todo) != 0 {
		t.Fatalf("a finished node must need nothing, got %d steps", len(todo))
	}
	facts["runtime"] = fact{digest: steps[2].Digest(), ok: false} // containerd stopped
	facts["login"] = fact{digest: "old", ok: true}                // password changed
	todo := plan(steps, facts)
	if len(todo) != 2 || todo[0].Name != "runtime" || todo[1].Name != "login" {
		t.Fatalf("plan: %v", todo)
	}
}

func TestProbeRoundTrip(t *testing.T) {
	out := "step hostname 0123456789abcdef ok\nstep packages - bad\n"
	facts, err := parseProbe(out)
	if err != nil || facts["hostname"].digest != "0123456789abcdef" || !facts["hostname"].ok || facts["packages"].ok {
		t.Fatalf("%+v %v", facts, err)
	}
	if _, err := parseProbe("garbage\n"); err == nil {
		t.Fatal("want an error for unexpected probe output")
	}
	steps, _ := Steps(sampleData("cache"), Uploads{})
	script := probeScript(steps)
	for _, s := range steps {
		if !strings.Contains(script, "printf 'step "+s.Name+" ") {
			t.Fatalf("probe misses %s", s.Name)
		}
	}
}

// TestPhaseOnFakes runs the phase against scripted nodes: one finished,
// one new, one unreachable. The unreachable node's cluster is reported
// failed; the others proceed.
func TestPhaseOnFakes(t *testing.T) {
	l := &lab.Lab{Login: lab.LoginSpec{User: "k8s"}, Kubernetes: lab.KubernetesSpec{Version: "1.34.4", Source: "cache"}, Nodes: lab.NodesSpec{PortworxSize: "10G"}}
	st := &lab.State{Clusters: []lab.Cluster{
		{Index: 1, Login: lab.Login{User: "k8s", Password: "pw111-pw111-pw111"}, Nodes: []lab.Node{{Name: "node1", PublicAddress: "10.0.0.1", PrivateAddress: "10.0.0.1"}}},
		{Index: 2, Login: lab.Login{User: "k8s", Password: "pw222-pw222-pw222"}, Nodes: []lab.Node{{Name: "node1", PublicAddress: "10.0.0.2", PrivateAddress: "10.0.0.2"}}},
	}}
	fakes := map[string]*remote.Fake{}
	saves := 0
	p := &Phase{Context: phase.Context{Lab: l, State: st, Parallel: 4, Out: &strings.Builder{}, Save: func() error { saves++; return nil }, Exec: func(c int, n string) remote.Executor { return fakes[lab.Label(c, n)] }}}
	// The probe needs the digests, which need the keys: make them first.
	if err := p.ensureKeys(); err != nil {
		t.Fatal(err)
	}
	steps, _ := Steps(p.nodeData(&st.Clusters[0], st.Clusters[0].Nodes[0]), Uploads{})
	var done strings.Builder
	for _, s := range steps {
		done.WriteString("step " + s.Name + " " + s.Digest() + " ok\n")
	}
	fakes["01/node1"] = remote.NewFake("01/node1").On(`^d=/var/lib/labctl/steps\n`, done.String(), 0)
	fakes["02/node1"] = remote.NewFake("02/node1").OnError(`^d=/var/lib/labctl/steps\n`, &remote.DialError{Host: "02/node1", Addr: "10.0.0.2:22", Err: context.DeadlineExceeded})
	err := p.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "02/node1") {
		t.Fatalf("want the unreachable node named, got %v", err)
	}
	if calls := fakes["01/node1"].Calls(); len(calls) != 1 {
		t.Fatalf("a finished node must only be probed, ran %v", calls)
	}
	if !st.Clusters[0].Phases["nodeprep"].OK || st.Clusters[1].Phases["nodeprep"].OK {
		t.Fatalf("phase results: %+v", st.Clusters)
	}
	if st.Clusters[0].Key == nil || st.Clusters[0].Key.Private == st.Clusters[1].Key.Private {
		t.Fatal("each cluster needs its own key")
	}
	if saves < 2 {
		t.Fatal("keys and results must be saved")
	}
}

// The login step refuses an existing system account or a home outside
// /home before it sets a password, sudo or keys (reset/node_test.go runs
// the guard itself).
func TestLoginStepGuardsFirst(t *testing.T) {
	steps, err := Steps(sampleData("packages"), Uploads{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if s.Name != "login" {
			continue
		}
		g := strings.Index(s.Script, lab.LoginGuard)
		if g < 0 {
			t.Fatalf("the login step has no login guard:\n%s", s.Script)
		}
		for _, later := range []string{"useradd", "chpasswd", "sudoers", "$H/.ssh"} {
			if i := strings.Index(s.Script, later); i >= 0 && i < g {
				t.Errorf("%s comes before the login guard", later)
			}
		}
		return
	}
	t.Fatal("no login step")
}
