package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/pipeline"
	"github.com/labctl/labctl/remote"
)

// newPowerCmd is `labctl stop` (start false) or `labctl start`.
func newPowerCmd(a *app, start bool) *cobra.Command {
	var clusters []int
	cmd := &cobra.Command{
		Use:   "stop",
		Short: "Stop the clusters' machines overnight, keeping them (labctl start brings them back)",
		Long: `Stop every node of the selected clusters the way a machine shuts down.
First, on each cluster's node1, kubelet stops and etcd and the API server
get SIGTERM while containerd still runs, and labctl waits for etcd to
close its data (up to 60 s; the line says if it did not); then the
machines halt: the other containers, containerd and Docker stop in
order, and the disks, addresses, passwords and cards stay. labctl status
shows the clusters as stopped. A stop that was interrupted is finished by
running it again. Local, kind and pulumi labs (on AWS: one pulumi up of
the selected instances' InstanceState resources; each node keeps its
Elastic IP); inventory machines are not labctl's to stop.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, c := range clusters {
				if c < 1 {
					return badInput("--cluster: %d is not a cluster number (1, 2, ...)", c)
				}
			}
			purpose := "labctl stop"
			if start {
				purpose = "labctl start"
			}
			l, err := a.lab()
			if err != nil {
				return err
			}
			prov, err := providerFor(l)
			if err != nil {
				return err
			}
			if err := a.precheck(l, func(s *lab.State) error {
				return (&pipeline.Power{Lab: l, State: s, Provider: prov, Clusters: clusters}).Check()
			}); err != nil {
				return err
			}
			l, store, s, err := a.openStore(l, purpose, lab.Open)
			if err != nil {
				return err
			}
			defer store.Close()
			wd, _ := os.Getwd()
			p := &pipeline.Power{
				Lab: l, State: s, Store: store, Provider: prov, Out: a.out, Clusters: clusters,
				SourceDir: wd, Parallel: 8,
				Engine: func(pin func(remote.Host, string) error) (*remote.Engine, error) {
					return engineFor(l, store.Dir(), s, pin)
				},
			}
			if start {
				return p.Start(cmd.Context())
			}
			return p.Stop(cmd.Context())
		},
	}
	if start {
		cmd.Use = "start"
		cmd.Short = "Start stopped clusters and wait until each passes up's checks and health gate"
		cmd.Long = `Start the selected clusters' machines, then run up's checks on them: what
the restart broke is repaired, and every cluster must pass the health gate.
The report names each cluster with the time from start to healthy; one
that does not come back is named, and the others finish.`
	}
	cmd.Flags().IntSliceVar(&clusters, "cluster", nil, "clusters (default all); repeat or separate with commas")
	return cmd
}
