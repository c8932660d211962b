// Command board measures `labctl check` (check.Run) and one refresh round
// of `labctl board` on 1, 10 and 50 clusters, each a fake API server on
// loopback (real HTTP, real client-go decoding) that answers after a set
// round-trip time, as a cluster behind an SSH tunnel does; it writes time
// and memory, and the ratio of 50 clusters to 1.
//
//	go run ./bench/board -clusters 1,10,50 -rtt 5ms -rounds 5
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/labctl/labctl/bench/internal/benchlab"
	"github.com/labctl/labctl/board"
	"github.com/labctl/labctl/check"
	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
	"github.com/labctl/labctl/status"
)

func main() {
	counts := flag.String("clusters", "1,10,50", "cluster counts")
	rtt := flag.Duration("rtt", 5*time.Millisecond, "each API request's round trip")
	rounds := flag.Int("rounds", 5, "runs per count (the median is reported)")
	parallel := flag.Int("parallel", lab.DefaultParallel, "clusters at once (ssh.parallel)")
	out := flag.String("out", "bench/results/board.md", "results file")
	flag.Parse()
	if err := run(*counts, *rtt, *rounds, *parallel, *out); err != nil {
		fmt.Fprintln(os.Stderr, "board:", err)
		os.Exit(1)
	}
}

// apiServer answers what the DockerCoins chapter's checks ask: a
// deployment, a service, its endpoint slices, webui's /json, nodes, pods.
func apiServer(rtt time.Duration) *httptest.Server {
	write := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(rtt)
		p := r.URL.Path
		name := p[strings.LastIndex(p, "/")+1:]
		switch {
		case strings.HasSuffix(p, "/proxy/json"):
			write(w, map[string]any{"hashes": 1000 + time.Now().Unix(), "now": float64(time.Now().UnixNano()) / 1e9})
		case strings.Contains(p, "/deployments/"):
			write(w, &appsv1.Deployment{TypeMeta: metav1.TypeMeta{Kind: "Deployment", APIVersion: "apps/v1"}, ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
				Status: appsv1.DeploymentStatus{ReadyReplicas: 1, UpdatedReplicas: 1}})
		case strings.Contains(p, "/services/"):
			write(w, &corev1.Service{TypeMeta: metav1.TypeMeta{Kind: "Service", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}})
		case strings.HasSuffix(p, "/endpointslices"):
			ready := true
			svc := strings.TrimPrefix(r.URL.Query().Get("labelSelector"), discoveryv1.LabelServiceName+"=")
			write(w, &discoveryv1.EndpointSliceList{TypeMeta: metav1.TypeMeta{Kind: "EndpointSliceList", APIVersion: "discovery.k8s.io/v1"},
				Items: []discoveryv1.EndpointSlice{{ObjectMeta: metav1.ObjectMeta{Name: svc + "-x"}, Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.1.5"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}}}})
		case strings.HasSuffix(p, "/nodes"):
			write(w, &corev1.NodeList{TypeMeta: metav1.TypeMeta{Kind: "NodeList", APIVersion: "v1"}, Items: []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "node1"},
				Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}}})
		case strings.HasSuffix(p, "/pods"):
			write(w, &corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}})
		default:
			http.NotFound(w, r)
		}
	}))
}

func client(url string) (*kube.Client, error) {
	cfg := &rest.Config{Host: url, QPS: -1}
	return kube.ForConfig(url, cfg)
}

type result struct {
	clusters    int
	check, ref  time.Duration
	checkAllocs uint64
	peak        uint64
}

func run(countsFlag string, rtt time.Duration, rounds, parallel int, out string) error {
	course, err := check.Shipped()
	if err != nil {
		return err
	}
	chapters, err := course.Select([]string{"first-deployment", "exposing", "dockercoins"})
	if err != nil {
		return err
	}
	nchecks := 0
	for _, ch := range chapters {
		nchecks += len(ch.Checks)
	}
	var results []result
	for _, f := range strings.Split(countsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("-clusters: %v", err)
		}
		r, err := measure(n, rtt, rounds, parallel, chapters, course)
		if err != nil {
			return err
		}
		fmt.Printf("%d clusters: check %s, board round %s, %.1f MiB allocated, heap peak %.1f MiB\n", n, r.check, r.ref, mib(r.checkAllocs), mib(r.peak))
		results = append(results, r)
	}
	return write(out, results, rtt, rounds, parallel, nchecks)
}

func measure(n int, rtt time.Duration, rounds, parallel int, chapters []check.Chapter, course *check.Course) (result, error) {
	st := &lab.State{}
	clients := map[int]*kube.Client{}
	var targets []check.Target
	for i := 1; i <= n; i++ {
		srv := apiServer(rtt)
		defer srv.Close()
		cl, err := client(srv.URL)
		if err != nil {
			return result{}, err
		}
		clients[i] = cl
		st.Clusters = append(st.Clusters, lab.Cluster{Index: i, Login: lab.Login{User: "k8s"}, Nodes: []lab.Node{{Name: "node1"}}})
		// One connection per cluster, opened once, as labctl's tunnel is.
		targets = append(targets, check.Target{Cluster: i, Open: func(context.Context) (check.Env, error) {
			return check.Env{Typed: cl.Typed, Dynamic: cl.Dynamic, User: "k8s"}, nil
		}})
	}
	ctx := context.Background()
	var checks, refs []time.Duration
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	var peak uint64
	for range rounds {
		start := time.Now()
		rows := check.Run(ctx, targets, chapters, parallel, time.Minute)
		checks = append(checks, time.Since(start))
		for _, r := range rows {
			if r.Error != "" || len(r.Done) != len(chapters) {
				return result{}, fmt.Errorf("cluster %d: %s %v", r.Cluster, r.Error, r.Results)
			}
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		peak = max(peak, m.HeapInuse)
	}
	runtime.ReadMemStats(&ms1)
	b := board.New(st, course, func(int, string) remote.Executor { return nil }, board.Options{
		Parallel: parallel, Timeout: time.Minute,
		Connect: func(_ context.Context, c lab.Cluster) (*kube.Client, error) { return clients[c.Index], nil },
		Probe: func(ctx context.Context, c lab.Cluster, connect func(context.Context) (*kube.Client, error)) status.Row {
			cl, _ := connect(ctx)
			nodes, err := cl.Typed.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			if err != nil {
				return status.Row{Cluster: c.Index, KubeError: err.Error()}
			}
			_, ready := status.CountNodes(nodes.Items)
			return status.Row{Cluster: c.Index, Reachable: 1, Total: 1, Ready: &ready}
		},
	})
	for range rounds {
		start := time.Now()
		b.RefreshAll(ctx)
		refs = append(refs, time.Since(start))
	}
	views, _, _ := b.Snapshot()
	for _, v := range views {
		if v.Error != "" {
			return result{}, fmt.Errorf("board cluster %d: %s", v.Cluster, v.Error)
		}
	}
	return result{clusters: n, check: benchlab.Median(checks), ref: benchlab.Median(refs), checkAllocs: (ms1.TotalAlloc - ms0.TotalAlloc) / uint64(rounds), peak: peak}, nil
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func write(out string, rs []result, rtt time.Duration, rounds, parallel, nchecks int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# labctl check and the board's refresh round on 1 to %d clusters\n\n", rs[len(rs)-1].clusters)
	fmt.Fprintf(&b, "`go run ./bench/board` on this machine (%d cores, %s). Each cluster is a fake API server on loopback (real HTTP, real client-go decoding, one client per cluster reused) answering each request after %s, the round trip of an API request through an SSH tunnel to a nearby node; %d checks per cluster (chapters first-deployment, exposing, dockercoins); ssh.parallel %d; median of %d runs. The board's round adds a node count, the checks of every shipped chapter, the newest pod and webui's counters per cluster. Memory: bytes allocated by one `check` run, and the largest heap in use seen.\n\n", runtime.NumCPU(), runtime.Version(), rtt, nchecks, parallel, rounds)
	b.WriteString("| clusters | labctl check | board round | allocated per check run | heap in use (peak) |\n|---|---|---|---|---|\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "| %d | %s | %s | %.1f MiB | %.1f MiB |\n", r.clusters, r.check.Round(time.Millisecond), r.ref.Round(time.Millisecond), mib(r.checkAllocs), mib(r.peak))
	}
	first, last := rs[0], rs[len(rs)-1]
	fmt.Fprintf(&b, "\nRatio %d vs %d clusters: check %.2fx, board round %.2fx (target: under 5).\n", last.clusters, first.clusters,
		float64(last.check)/float64(first.check), float64(last.ref)/float64(first.ref))
	return os.WriteFile(out, []byte(b.String()), 0o644)
}
