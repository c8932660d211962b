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

	"github.com/labctl/labctl/provision"
)

// passphraseFile is where labctl-pulumi keeps a stack's secrets
// passphrase in the provider's directory (see stack.dirs): labctl made the
// stack only if it is there.
const passphraseFile = "passphrase"

// Plan is `up --dry-run`: `pulumi preview` of the class program, counted
// by resource type, and what the machines are. No machine is made or
// changed. A stack labctl never made (no passphrase in the lab's state)
// is previewed in a throwaway directory with a file backend of its own,
// removed at the end: what a new stack would get, and nothing left in the
// state directory or in the instructor's backend.
func (p *Provider) Plan(ctx context.Context, r provision.Request, w io.Writer) error {
	l := r.Lab
	if l.Provider.Pulumi.Stack != "" {
		fmt.Fprintf(w, "    read the outputs of stack %s (changes nothing there)\n", l.Provider.Pulumi.Stack)
		return nil
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
	if _, err := p.run(ctx, r, req, w); err != nil {
		return err
	}
	if l.Provider.Pulumi.Target == "aws" {
		a := l.Provider.AWS
		fmt.Fprintf(w, "    %d %s instances (%d GiB gp3, Ubuntu 24.04) in %s, %s VPC, SSH from %s\n",
			l.Attendees*l.NodesPerCluster, a.InstanceType, a.DiskSize, a.Region, a.VPC, strings.Join(a.AllowFrom, ", "))
	}
	return nil
}
