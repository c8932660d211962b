package pipeline

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/labctl/labctl/addons"
	coinsphase "github.com/labctl/labctl/coins/phase"
	"github.com/labctl/labctl/kubeadm"
	"github.com/labctl/labctl/nodeprep"
	"github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/provision"
)

// want says whether this run includes phase name (see Only and Phases).
func (u *Up) want(name string) bool {
	if len(u.Phases) > 0 {
		return slices.Contains(u.Phases, name)
	}
	return u.Only == "" || u.Only == name
}

// phases is up's list after the build and provision, in order; what this
// run does not want (--only, Phases, a kind lab, --dry-run) is left out.
// Each phase is made from what the build left and the nodes provision
// made.
func (u *Up) phases(selected []addons.Addon, b *built) ([]Phase, error) {
	kind := u.Lab.Provider.Type == "kind"
	if kind && (u.want("nodeprep") || u.want("kubeadm")) {
		fmt.Fprintln(u.Out, "==> nodeprep, kubeadm (done by kind in provision)")
	}
	var list []Phase
	var err error
	add := func(ok bool, mk func() (Phase, error)) {
		if ok && err == nil {
			var p Phase
			if p, err = mk(); p != nil {
				list = append(list, p)
			}
		}
	}
	// nodeprep's probe reaches every node anyway; on its own, provision
	// checks that the nodes it made can be logged into.
	add(!u.DryRun && (!u.want("nodeprep") || kind) && len(u.Phases) == 0, u.reachPhase)
	add(u.want("nodeprep") && !kind, func() (Phase, error) { return u.nodeprepPhase(b), nil })
	add(u.want("kubeadm") && !kind, func() (Phase, error) { return u.kubeadmPhase(selected), nil })
	add(u.want("addons"), func() (Phase, error) { return u.addonsPhase(selected, b), nil })
	add(u.want("coins"), func() (Phase, error) { return u.coinsPhase(b) })
	add(u.want("health") && !u.DryRun, func() (Phase, error) { return &healthPhase{u: u, timeout: 4 * time.Minute}, nil })
	// A kind cluster is recreated in seconds: labctl reset does not serve
	// kind labs, so no baseline is kept for them.
	add(u.want("baseline") && !u.DryRun && !kind, func() (Phase, error) {
		return &baselinePhase{u: u, again: u.Only == "baseline" || len(u.Phases) > 0}, nil
	})
	return list, err
}

// reachPhase logs into every node once (its own phase context: no
// cluster is skipped, none recorded as failed but by its own outcome).
func (u *Up) reachPhase() (Phase, error) {
	return &provision.ReachPhase{
		Context: phase.Context{State: u.State, Exec: u.exec, Parallel: u.Lab.SSH.Parallel, Out: u.Out, Save: u.save},
		Timeout: u.eng.Budget() + time.Minute,
	}, nil
}

// nodeprepPhase prepares every node, with the files the build left (or,
// when the lab takes Kubernetes from release packages, their downloads).
func (u *Up) nodeprepPhase(b *built) Phase {
	p := &nodeprep.Phase{Context: u.phaseContext(), PauseImage: "registry.k8s.io/pause:3.10",
		SharedKernel: u.Lab.LocalNodes(), Uploads: b.uploads}
	if b.pauseImage != "" {
		p.PauseImage = b.pauseImage
	}
	if u.Lab.Kubernetes.Source != "cache" {
		p.Downloads = releaseDownloads()
	}
	return p
}

func (u *Up) kubeadmPhase(selected []addons.Addon) Phase {
	return &kubeadm.Phase{Context: u.phaseContext(), Kube: u.kube, InContainer: u.Lab.LocalNodes(),
		ServingCerts: addons.KubeletServingCerts(selected)}
}

// coinsPhase preloads the DockerCoins images the build left on every
// node and, when enabled, deploys them. Without labctl's source and
// with the app disabled, it says why it is skipped.
func (u *Up) coinsPhase(b *built) (Phase, error) {
	if u.coinsSkip != nil {
		fmt.Fprintf(u.Out, "==> coins (skipped: %v)\n", u.coinsSkip)
		return nil, nil
	}
	if b.coins == nil { // a dry run on a cache without them
		return notBuilt{"coins", "the DockerCoins images"}, nil
	}
	return coinsphase.New(coinsphase.Config{Context: u.phaseContext(), Archive: b.coins.Archive, Mirror: b.coins.Mirror,
		Deploy: u.Lab.Coins.Enabled, Namespace: u.Lab.Coins.Namespace, Kube: u.kube})
}

// notBuilt stands, in a dry run, for a phase whose inputs the build has
// not made yet: its plan is that it would run once they are built.
type notBuilt struct{ title, inputs string }

func (n notBuilt) Title() string { return n.title }

func (n notBuilt) Run(context.Context) error {
	return fmt.Errorf("%s are not built", n.inputs)
}

func (n notBuilt) DryRun(_ context.Context, w io.Writer) error {
	_, err := fmt.Fprintf(w, "    %s are not in the cache yet: this phase would run once they are built\n", n.inputs)
	return err
}
