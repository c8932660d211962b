// Command reset measures `labctl reset` on local nodes, side by side with
// the other way back to a clean cluster: a lab of -clusters × -nodes with
// DockerCoins is brought up, cluster 1 is messed up as an attendee would
// (-rounds times) and put back by a soft reset; with several clusters,
// every cluster is messed up and all are soft-reset at once; then cluster
// 1 is put back by a hard reset, then by `destroy --cluster 1` + `up`. It
// prints a markdown table with the ratios, and destroys the lab at the end.
//
//	go run ./bench/reset -clusters 4 -nodes 2 -rounds 3
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/labctl/labctl/bench/internal/benchlab"
)

// mess is what an attendee leaves behind, run as the attendee on node1.
const mess = `set -e
kubectl create namespace messy
kubectl -n messy create deployment web --image=dockercoins/rng:v0.1 --replicas=3
kubectl -n messy expose deployment web --port 80
kubectl apply -f - <<'YAML'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: attendee-role}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
YAML
kubectl cordon node2
kubectl taint node node2 lab=messy:NoSchedule
kubectl -n kube-system scale deployment coredns --replicas=0
kubectl -n kube-system delete daemonset kube-proxy
kubectl -n dockercoins scale deployment worker --replicas=0
echo notes > ~/notes.txt; echo x > /tmp/attendee-file
`

func main() {
	clusters := flag.Int("clusters", 1, "clusters (attendees) in the lab")
	nodes := flag.Int("nodes", 2, "nodes per cluster")
	rounds := flag.Int("rounds", 3, "soft resets to time, each after a fresh mess")
	flag.Parse()
	dir, err := os.MkdirTemp("", "labctl-bench-reset-")
	if err != nil {
		log.Fatal(err)
	}
	name := fmt.Sprintf("bench-reset-%dx%d", *clusters, *nodes)
	bl, err := benchlab.New(dir, fmt.Sprintf("name: %s\nattendees: %d\nnodesPerCluster: %d\ncoins: {enabled: true}\nprovider: {type: local}\n", name, *clusters, *nodes))
	if err != nil {
		log.Fatal(err)
	}
	labctl := bl.Run
	must := bl.Must
	defer labctl("destroy", "--yes")
	attendee := func(cluster string) {
		must("exec", "--cluster", cluster, "--node", "node1", "--timeout", "3m", "--", "su - k8s -c "+quote(mess))
	}

	up := must("up")
	var soft []time.Duration
	for i := 0; i < *rounds; i++ {
		attendee("1")
		soft = append(soft, must("reset", "--cluster", "1", "--yes"))
	}
	var all time.Duration
	if *clusters > 1 {
		for c := 1; c <= *clusters; c++ {
			attendee(fmt.Sprint(c))
		}
		all = must("reset", "--yes")
	}
	attendee("1")
	hard := must("reset", "--cluster", "1", "--level", "hard", "--yes")
	attendee("1")
	destroy := must("destroy", "--cluster", "1", "--yes")
	reUp := must("up")

	med := benchlab.Median(soft)
	fmt.Printf("| way back to a clean cluster (lab of %d × %d, DockerCoins) | time | vs soft reset |\n|---|---|---|\n", *clusters, *nodes)
	fmt.Printf("| first `labctl up` (for reference) | %s | %.1fx |\n", up.Round(time.Second), up.Seconds()/med.Seconds())
	fmt.Printf("| `labctl reset --cluster 1` (soft), median of %d (min %s, max %s) | %s | 1x |\n",
		len(soft), soft[0].Round(100*time.Millisecond), soft[len(soft)-1].Round(100*time.Millisecond), med.Round(100*time.Millisecond))
	if all > 0 {
		fmt.Printf("| `labctl reset` (soft) of all %d clusters at once, each messed up | %s | %.1fx |\n", *clusters, all.Round(100*time.Millisecond), all.Seconds()/med.Seconds())
	}
	fmt.Printf("| `labctl reset --cluster 1 --level hard` | %s | %.1fx |\n", hard.Round(100*time.Millisecond), hard.Seconds()/med.Seconds())
	fmt.Printf("| `labctl destroy --cluster 1` + `labctl up` | %s + %s = %s | %.1fx |\n",
		destroy.Round(time.Second), reUp.Round(time.Second), (destroy + reUp).Round(time.Second), (destroy+reUp).Seconds()/med.Seconds())
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
