package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labctl/labctl/lab"
)

// A price override that does not parse, or is no price: one line naming
// the field, exit 2, no state directory made.
func TestBadPriceOverride(t *testing.T) {
	for body, want := range map[string]string{
		"instanceHour: abc":     `provider.aws.prices.instanceHour: expected a number, got "abc"`,
		"instanceHour: -0.1":    "provider.aws.prices.instanceHour: -0.1 is not a price in USD",
		"gp3GBMonth: .inf":      "provider.aws.prices.gp3GBMonth: +Inf is not a price in USD",
		"publicIPv4Hour: [1]":   "provider.aws.prices.publicIPv4Hour: expected a number, got a list",
		"date: last week":       `provider.aws.prices.date: "last week" is not a date`,
		"instanceHour: 1e9":     "provider.aws.prices.instanceHour: 1e+09 is not a price in USD (0 to 1000)",
		"instanceHour: \"0.1\"": `provider.aws.prices.instanceHour: expected a number, got "0.1"`,
	} {
		t.Run(body, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "lab.yaml")
			os.WriteFile(file, []byte("name: i21-prices\nprovider: {type: pulumi, aws: {prices: {"+body+"}}}\n"), 0o644)
			state := filepath.Join(t.TempDir(), "state")
			out, code := runCLI(t, "-f", file, "--state-dir", state, "up", "--dry-run")
			if code != exitBadInput || !strings.Contains(out, want) || strings.Contains(strings.TrimSpace(out), "\n") {
				t.Fatalf("want one line with %q, exit 2; got %d %q", want, code, out)
			}
			if _, err := os.Stat(state); !os.IsNotExist(err) {
				t.Fatal("bad input created the state directory")
			}
		})
	}
}

// labctl stop of an AWS lab without Elastic IPs, or whose lab file asks
// for other machines than it has: one line naming the field, exit 2, the
// state unchanged.
func TestStopRefusedOnAWS(t *testing.T) {
	for body, want := range map[string]string{
		"attendees: 2\nprovider: {type: pulumi, aws: {addresses: ephemeral}}\n": "provider.aws.addresses: ephemeral: a stopped instance gets a new public address",
		"attendees: 3\nprovider: {type: pulumi}\n":                              "attendees, spares, nodesPerCluster: the lab file asks for 3 × 1 nodes, the lab has 2 clusters",
		"attendees: 2\nspares: 1\nprovider: {type: pulumi}\n":                   "attendees, spares, nodesPerCluster: the lab file asks for 3 × 1 nodes, the lab has 2 clusters",
	} {
		dir := t.TempDir()
		file := filepath.Join(dir, "lab.yaml")
		os.WriteFile(file, []byte("name: i21-stop\nnodesPerCluster: 1\n"+body), 0o644)
		state := filepath.Join(dir, "state")
		st, err := lab.Open(state, "i21-stop", 0, "test")
		if err != nil {
			t.Fatal(err)
		}
		s := &lab.State{Lab: "i21-stop", Provider: lab.ProviderState{Type: "pulumi"}}
		for c := 1; c <= 2; c++ {
			s.Clusters = append(s.Clusters, lab.Cluster{Index: c, Nodes: []lab.Node{{Name: "node1", PublicAddress: "198.51.100.1", Port: 22}}})
		}
		if err := st.Save(s); err != nil {
			t.Fatal(err)
		}
		st.Close()
		before, _ := os.ReadFile(filepath.Join(state, "state.json"))
		out, code := runCLI(t, "-f", file, "--state-dir", state, "stop")
		if code != exitBadInput || !strings.Contains(out, want) || strings.Contains(strings.TrimSpace(out), "\n") {
			t.Errorf("want one line with %q, exit 2; got %d %q", want, code, out)
		}
		if after, _ := os.ReadFile(filepath.Join(state, "state.json")); string(after) != string(before) {
			t.Errorf("the state changed")
		}
	}
}

func TestSweepBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--aws-region", "mars-1"}, {"--orphans-of", "Not_A_Lab"}} {
		root := filepath.Join(t.TempDir(), "root")
		out, code := runCLI(t, append([]string{"sweep", "--root", root, "--yes"}, args...)...)
		if code != exitBadInput || !strings.Contains(out, args[0]+": ") || strings.Contains(strings.TrimSpace(out), "\n") {
			t.Errorf("%v: want one line naming the flag, exit 2; got %d %q", args, code, out)
		}
	}
}
