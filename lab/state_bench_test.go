package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// classState is the state of a full class at the largest size labctl
// accepts: 500 attendees × 10 nodes, every phase recorded, host keys
// pinned, each cluster's key pair, kubeconfig (about the size of a real
// admin.conf) and health probes.
func classState() *State {
	s := &State{Version: StateVersion, Lab: "class", Provider: ProviderState{Type: "pulumi"}}
	kubeconfig := strings.Repeat("x", 5600)
	now := time.Now().UTC()
	for c := 1; c <= 500; c++ {
		cl := Cluster{Index: c, Login: Login{User: "k8s", Password: "correct-horse-battery"},
			Key:        &KeyPair{Private: strings.Repeat("k", 400), Public: "ssh-ed25519 " + strings.Repeat("p", 68)},
			Kubeconfig: kubeconfig, Addons: strings.Repeat("d", 64),
			Phases: map[string]PhaseResult{}, HealthProbes: map[string]string{}}
		for _, p := range []string{"provision", "reach", "nodeprep", "kubeadm", "join", "cni", "addons", "health", "baseline", "coins"} {
			cl.Phases[p] = PhaseResult{OK: true, At: now}
		}
		for n := 1; n <= 10; n++ {
			name := fmt.Sprintf("node%d", n)
			cl.Nodes = append(cl.Nodes, Node{Name: name, PublicAddress: fmt.Sprintf("203.0.%d.%d", c/250, n), PrivateAddress: fmt.Sprintf("10.%d.0.%d", c, n),
				Port: 22, HostKey: "ssh-ed25519 " + strings.Repeat("h", 68), ID: fmt.Sprintf("i-%016x", c*100+n)})
			cl.HealthProbes[name] = "systemctl is-active kubelet containerd && crictl ps -q | wc -l"
		}
		s.Clusters = append(s.Clusters, cl)
	}
	return s
}

// BenchmarkSaveClass writes the state of a 500 × 10 class (atomically,
// fsynced), as every phase does when it ends; it reports the file's size.
func BenchmarkSaveClass(b *testing.B) {
	dir := b.TempDir()
	st, err := Open(dir, "class", 0, "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s := classState()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := st.Save(s); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	fi, err := os.Stat(filepath.Join(dir, stateFile))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(fi.Size())/1e6, "MB/file")
}

// BenchmarkLoadClass reads it back, as every labctl command does first.
func BenchmarkLoadClass(b *testing.B) {
	dir := b.TempDir()
	st, err := Open(dir, "class", 0, "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Save(classState()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := st.Load(); err != nil {
			b.Fatal(err)
		}
	}
}
