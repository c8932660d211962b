package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/coins"
	"github.com/labctl/labctl/coins/images"
	"github.com/labctl/labctl/coins/manifests"
)

// newCoinsCmd is `labctl coins`: DockerCoins images, manifests and the
// attendees' Compose tree.
func newCoinsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "coins",
		Short: "DockerCoins, the course's sample app: build images, print manifests, write the Compose tree",
		Args:  cobra.NoArgs,
	}

	var buildDir string
	build := &cobra.Command{
		Use:   "build -o DIR",
		Short: "Build the DockerCoins images (linux/amd64 and arm64) without Docker into DIR",
		Long: `Cross-compile the four services with the Go toolchain and write their images
(dockercoins/{rng,hasher,worker,webui}:v0.1 and dockercoins/worker:v0.2), plus
redis:7.0 assembled from Debian's redis-server package (nothing is pulled), as an
OCI layout (DIR/oci) and an OCI archive (DIR/dockercoins-images.tar) that
"ctr -n k8s.io images import" loads. Run it inside the labctl checkout.
A second run with unchanged inputs reuses DIR.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			wd, err := os.Getwd()
			if err != nil {
				return err
			}
			moduleDir, err := images.FindModule(cmd.Context(), wd)
			if err != nil {
				return err
			}
			res, err := images.Build(cmd.Context(), images.Options{Dir: buildDir, ModuleDir: moduleDir, Log: cmd.ErrOrStderr()})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprint(out, images.Summary(res.Images))
			fmt.Fprintf(out, "layout:  %s\narchive: %s\n", res.Layout, res.Archive)
			return nil
		},
	}
	build.Flags().StringVarP(&buildDir, "output", "o", "", "directory to write the images to")
	_ = build.MarkFlagRequired("output")

	var namespace string
	show := &cobra.Command{
		Use:   "manifests",
		Short: "Print the Kubernetes manifests of DockerCoins",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			yaml, err := manifests.Render(manifests.Options{Namespace: namespace})
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(yaml)
			return err
		},
	}
	show.Flags().StringVar(&namespace, "namespace", manifests.DefaultNamespace, "namespace to deploy into (never \"default\")")

	var composeDir string
	compose := &cobra.Command{
		Use:   "compose -o DIR",
		Short: "Write the attendees' dockercoins directory (sources, Dockerfiles, docker-compose.yml)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := coins.WriteTree(composeDir); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (docker-compose build && docker-compose up)\n", composeDir)
			return nil
		},
	}
	compose.Flags().StringVarP(&composeDir, "output", "o", "", "directory to write the tree to")
	_ = compose.MarkFlagRequired("output")

	cmd.AddCommand(build, show, compose)
	return cmd
}
