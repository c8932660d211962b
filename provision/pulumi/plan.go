package pulumi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
)

// passphraseFile is where labctl-pulumi keeps a stack's secrets
// passphrase in the provider's directory (see stack.dirs): labctl made the
// stack only if it is there.
const passphraseFile = "passphrase"

// Plan is `up --dry-run`: on AWS what the machines are and what they
// cost (see cost.go), then `pulumi preview` of the class program, counted
// by resource type. No machine is made or changed. A stack labctl never
// made (no passphrase in the lab's state) is previewed in a throwaway
// directory with a file backend of its own, removed at the end: what a new
// stack would get, and nothing left in the state directory or in the
// instructor's backend.
func (p *Provider) Plan(ctx context.Context, r provision.Request, w io.Writer) error {
	l := r.Lab
	if l.Provider.Pulumi.Stack != "" {
		fmt.Fprintf(w, "    read the outputs of stack %s (changes nothing there)\n", l.Provider.Pulumi.Stack)
		return nil
	}
	// The machines and their cost first: they need no cloud, and the
	// preview may fail on one.
	if l.Provider.Pulumi.Target == "aws" {
		if err := p.planAWS(l, w); err != nil {
			return err
		}
	}
	if _, err := os.Lstat(filepath.Join(dirsOf(r).root, passphraseFile)); errors.Is(err, fs.ErrNotExist) {
		tmp, err := os.MkdirTemp("", "labctl-preview-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		fresh := *r.Lab
		fresh.Provider.Pulumi.Backend = ""
		r.Lab, r.StateDir = &fresh, tmp
	}
	req, err := p.request(ctx, r, OpPreview, true)
	if err != nil {
		return err
	}
	_, err = p.run(ctx, r, req, w)
	return err
}

// planAWS prints the machines and what they cost: per hour running and
// stopped, and until endsAt.
func (p *Provider) planAWS(l *lab.Lab, w io.Writer) error {
	a := l.Provider.AWS
	addresses := "an Elastic IP each (kept across labctl stop/start)"
	if !a.ElasticIPs() {
		addresses = "ephemeral public addresses (no labctl stop)"
	}
	clusters := l.ClusterCount()
	shape := fmt.Sprintf("%d clusters × %d", clusters, l.NodesPerCluster)
	if l.Spares > 0 {
		spares := "spares"
		if l.Spares == 1 {
			spares = "spare"
		}
		shape = fmt.Sprintf("%d clusters: %d attendees + %d %s, × %d", clusters, l.Attendees, l.Spares, spares, l.NodesPerCluster)
	}
	fmt.Fprintf(w, "    %d %s instances (%s, %d GiB gp3, Ubuntu 24.04) in %s, %s VPC, SSH from %s, %s\n",
		clusters*l.NodesPerCluster, a.InstanceType, shape, a.DiskSize, a.Region, a.VPC,
		strings.Join(a.AllowFrom, ", "), addresses)
	e, err := LabEstimate(l)
	if err != nil {
		return err
	}
	var end *time.Time
	if t, ok := l.End(); ok {
		end = &t
	}
	e.Render(w, end, p.now())
	return nil
}
