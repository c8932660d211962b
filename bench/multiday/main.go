// Command multiday measures the multi-day commands on local nodes: a lab
// of -clusters × -nodes (one of the clusters a spare) is brought up, then
// timed: `labctl stop` + `labctl start` of the whole lab (the night), side
// by side with `labctl destroy` + `labctl up` of the same lab (rebuilding
// it instead), -rounds times each, alternating; then `labctl swap 1`
// after attendee 1's kubelet is stopped: once with --no-reset (how long
// the attendee waits) and once with the hard reset of the old cluster
// (how long until the spare is back). It prints a markdown table with the
// medians and the ratio, and destroys the lab at the end.
//
//	go run ./bench/multiday -clusters 4 -nodes 2 -rounds 2
//
// Each command is timed as a whole process (the labctl binary, from its
// start to its exit), as /usr/bin/time would.
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

func main() {
	clusters := flag.Int("clusters", 4, "clusters in the lab, the last of them a spare")
	nodes := flag.Int("nodes", 2, "nodes per cluster")
	rounds := flag.Int("rounds", 2, "stop+start and destroy+up cycles to time, each")
	keep := flag.Bool("keep", false, "keep the lab at the end")
	flag.Parse()
	if *clusters < 2 {
		log.Fatal("-clusters: at least 2 (one attendee and the spare)")
	}
	dir, err := os.MkdirTemp("", "labctl-bench-multiday-")
	if err != nil {
		log.Fatal(err)
	}
	name := fmt.Sprintf("bench-multiday-%dx%d", *clusters, *nodes)
	bl, err := benchlab.New(dir, fmt.Sprintf("name: %s\nattendees: %d\nspares: 1\nnodesPerCluster: %d\nprovider: {type: local}\n", name, *clusters-1, *nodes))
	if err != nil {
		log.Fatal(err)
	}
	labctl := bl.Run
	must := func(args ...string) time.Duration {
		d := bl.Must(args...)
		log.Printf("labctl %s: %s", strings.Join(args, " "), d.Round(100*time.Millisecond))
		return d
	}
	if !*keep {
		defer labctl("destroy", "--yes")
	}

	up := must("up")
	var night, rebuild []time.Duration
	for i := 0; i < *rounds; i++ {
		night = append(night, must("stop")+must("start"))
		rebuild = append(rebuild, must("destroy", "--yes")+must("up"))
	}
	breakAttendee1 := func() {
		must("exec", "--attendee", "1", "--node", "node1", "--", "systemctl stop kubelet")
	}
	breakAttendee1()
	swapOnly := must("swap", "--no-reset", "1")
	breakAttendee1()
	// The only spare now is cluster 1, left by the first swap and waiting
	// for its reset: reset it (hard, as swap does; untimed), then swap
	// again, the old cluster hard-reset by swap itself.
	must("reset", "--cluster", "1", "--level", "hard", "--new-passwords", "--yes")
	swapReset := must("swap", "--yes", "1")

	n, s := benchlab.Median(night), benchlab.Median(rebuild)
	fmt.Printf("| lab of %d × %d (%d attendees, 1 spare), local nodes | median | min – max | vs stop + start |\n|---|---|---|---|\n", *clusters, *nodes, *clusters-1)
	fmt.Printf("| first `labctl up` (for reference) | %s | | %.1fx |\n", up.Round(time.Second), up.Seconds()/n.Seconds())
	fmt.Printf("| `labctl stop` + `labctl start`, %d rounds | %s | %s – %s | 1x |\n", len(night), n.Round(time.Second), night[0].Round(time.Second), night[len(night)-1].Round(time.Second))
	fmt.Printf("| `labctl destroy` + `labctl up`, %d rounds | %s | %s – %s | %.1fx |\n", len(rebuild), s.Round(time.Second), rebuild[0].Round(time.Second), rebuild[len(rebuild)-1].Round(time.Second), s.Seconds()/n.Seconds())
	fmt.Printf("| `labctl swap --no-reset 1` (the attendee's wait) | %s | | |\n", swapOnly.Round(100*time.Millisecond))
	fmt.Printf("| `labctl swap --yes 1` (with the hard reset of the old cluster) | %s | | |\n", swapReset.Round(time.Second))
}
