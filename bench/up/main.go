// Command up measures `labctl up` on local nodes: the first bring-up of a
// lab of -attendees x -nodes from nothing, then -runs idempotent re-runs,
// and prints a markdown table. It builds labctl from this checkout, runs it
// from the checkout (so DockerCoins images are preloaded as in a class), and
// destroys the lab at the end unless -keep.
//
//	go run ./bench/up -attendees 10 -nodes 1 -runs 5
//	go run ./bench/up -attendees 4 -nodes 2 -runs 5 -addons metrics-server
//	go run ./bench/up -attendees 2 -nodes 1 -runs 5 -provider kind
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/labctl/labctl/bench/internal/benchlab"
)

func main() {
	attendees := flag.Int("attendees", 10, "clusters")
	nodes := flag.Int("nodes", 1, "nodes per cluster")
	runs := flag.Int("runs", 5, "idempotent re-runs to time")
	keep := flag.Bool("keep", false, "leave the lab up")
	reuse := flag.String("reuse", "", "directory of a lab a previous -keep run left up: converge it, then time re-runs")
	provider := flag.String("provider", "local", "local or kind (one node per cluster)")
	addons := flag.String("addons", "", "comma-separated add-ons for the lab file's addons: list (e.g. metrics-server,traefik)")
	flag.Parse()

	dir := *reuse
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "labctl-bench-up-"); err != nil {
			log.Fatal(err)
		}
	}
	name := fmt.Sprintf("bench-%s-%dx%d", *provider, *attendees, *nodes)
	body := fmt.Sprintf("name: %s\nattendees: %d\nnodesPerCluster: %d\nkubernetes: {version: \"1.34.4\", cni: bridge, source: cache}\nprovider: {type: %s}\n", name, *attendees, *nodes, *provider)
	if *addons != "" {
		body += "addons: [" + *addons + "]\n"
	}
	// A -reuse directory keeps its lab file; a new one gets ours.
	bl, err := benchlab.New(dir, body)
	if err != nil {
		log.Fatal(err)
	}
	labctl := func(args ...string) (time.Duration, string) {
		took, out, err := bl.Run(args...)
		if err != nil {
			log.Fatalf("labctl %s: %v\n%s\nthe lab is left in %s (-reuse it, or destroy it with %s -f %s --state-dir %s destroy --yes)",
				strings.Join(args, " "), err, out, dir, bl.Bin, bl.File, bl.State)
		}
		return took, out
	}
	if !*keep {
		defer labctl("destroy", "--yes")
	}

	fmt.Printf("lab %d x %d in %s\n", *attendees, *nodes, dir)
	first, out := labctl("up")
	fmt.Printf("first up %s\n", first.Round(time.Second))
	fmt.Println(phaseTimes(out))
	var times []time.Duration
	for i := 0; i < *runs; i++ {
		took, out := labctl("up")
		// kind prepares its nodes itself (no nodeprep plan): a no-op
		// creates no cluster.
		noop := strings.Contains(out, fmt.Sprintf("0 of %d nodes need work", *attendees**nodes))
		if *provider == "kind" {
			noop = !strings.Contains(out, "creating kind cluster") && !strings.Contains(out, "building kind node image")
		}
		if !noop {
			log.Fatalf("re-run %d did work:\n%s", i+1, out)
		}
		times = append(times, took)
		if i == 0 {
			fmt.Println("re-run phases:", phaseTimes(out))
		}
	}
	med := benchlab.Median(times)
	fmt.Printf("\n| lab | first up | re-run median | re-run min | re-run max |\n|---|---|---|---|---|\n")
	fmt.Printf("| %d x %d | %s | %s | %s | %s |\n", *attendees, *nodes, first.Round(time.Second),
		med.Round(10*time.Millisecond), times[0].Round(10*time.Millisecond), times[len(times)-1].Round(10*time.Millisecond))
}

var phaseRE = regexp.MustCompile(`(?m)^==> (.+)$|^    done in (.+)$`)

// phaseTimes pairs each "==> phase" header with its "done in" line.
func phaseTimes(out string) string {
	var parts []string
	phase := ""
	for _, m := range phaseRE.FindAllStringSubmatch(out, -1) {
		if m[1] != "" {
			phase = strings.Fields(m[1])[0]
			continue
		}
		parts = append(parts, phase+" "+m[2])
	}
	return strings.Join(parts, ", ")
}
