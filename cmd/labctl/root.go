package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
)

// app carries the global flags and what every command loads from them.
type app struct {
	file     string
	stateDir string
	verbose  bool
	jsonOut  bool
	// showSecrets prints passwords and keys where they would be hidden.
	showSecrets bool
	wait        time.Duration
	flags       *pflag.FlagSet
	out         io.Writer
	errOut      io.Writer
}

func newRootCmd() *cobra.Command {
	a := &app{out: os.Stdout, errOut: os.Stderr}
	root := &cobra.Command{
		Use:           "labctl",
		Short:         "Get a Kubernetes class ready: clusters, nodes, sample app, access cards",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			return checkDuration("--wait", a.wait, 24*time.Hour)
		},
	}
	root.PersistentPreRun = func(*cobra.Command, []string) {
		// A class is hundreds of connections at once.
		if msg := remote.RaiseFileLimit(); a.verbose {
			fmt.Fprintln(a.errOut, "labctl:", msg)
		}
	}
	pf := root.PersistentFlags()
	pf.StringVarP(&a.file, "file", "f", envOr("LABCTL_FILE", "lab.yaml"), "lab file")
	pf.StringVar(&a.stateDir, "state-dir", os.Getenv("LABCTL_STATE_DIR"), "state directory (default $XDG_DATA_HOME/labctl/NAME)")
	pf.BoolVarP(&a.verbose, "verbose", "v", false, "print more")
	pf.BoolVar(&a.jsonOut, "json", false, "print JSON where it fits")
	pf.BoolVar(&a.showSecrets, "show-secrets", false, "include passwords in JSON and status output (hidden otherwise)")
	pf.DurationVar(&a.wait, "wait", 0, "wait this long for another labctl working on the same lab")
	pf.Int("parallel", lab.DefaultParallel, "hosts driven at once (ssh.parallel)")
	a.flags = pf
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	root.AddCommand(
		newInitCmd(a),
		newUpCmd(a),
		newStatusCmd(a),
		newCheckCmd(a),
		newBoardCmd(a),
		newExecCmd(a),
		newSSHCmd(a),
		newCardsCmd(a),
		newResetCmd(a),
		newSwapCmd(a),
		newPowerCmd(a, false),
		newPowerCmd(a, true),
		newSweepCmd(a),
		newDestroyCmd(a),
		newTrustCmd(a),
		newVersionCmd(a),
		newCoinsCmd(),
	)
	return root
}

// lab loads the lab file with LABCTL_* variables and flags over it.
func (a *app) lab() (*lab.Lab, error) {
	l, err := lab.Load(lab.LoadOptions{
		Path:  a.file,
		Flags: map[string]*pflag.Flag{"ssh.parallel": a.flags.Lookup("parallel")},
	})
	if err != nil {
		return nil, usageError{err}
	}
	return l, nil
}

// dir is the lab's state directory.
func (a *app) dir(l *lab.Lab) (string, error) {
	if a.stateDir != "" {
		return a.stateDir, nil
	}
	return lab.DefaultStateDir(l.Name)
}

// open loads the lab, locks its state for a command that changes it, and
// reads the state. The caller closes the store.
func (a *app) open(purpose string) (*lab.Lab, *lab.Store, *lab.State, error) {
	l, err := a.lab()
	if err != nil {
		return nil, nil, nil, err
	}
	return a.openStore(l, purpose, lab.Open)
}

// openStore locks the lab's state directory with open (lab.Open, or
// lab.OpenDryRun) and reads the state.
// Open refuses another lab's state, or a state file it cannot read,
// before it writes anything; Load checks again under the lock.
func (a *app) openStore(l *lab.Lab, purpose string, open func(string, string, time.Duration, string) (*lab.Store, error)) (*lab.Lab, *lab.Store, *lab.State, error) {
	dir, err := a.dir(l)
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := open(dir, l.Name, a.wait, purpose)
	if err != nil {
		return nil, nil, nil, err
	}
	s, err := st.Load()
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	return l, st, s, nil
}

// precheck runs check on the lab's state read without the lock, so that
// bad input is refused before the lock is taken (taking it writes the
// holder's note): a lab never brought up has an empty state, another
// lab's or a broken one is refused. The command checks again under the
// lock.
func (a *app) precheck(l *lab.Lab, check func(*lab.State) error) error {
	dir, err := a.dir(l)
	if err != nil {
		return err
	}
	s, err := lab.PeekState(dir, l.Name)
	if err != nil {
		return err
	}
	return check(s)
}

// readState loads the lab and reads its state without locking, for
// commands that only look (status, cards, exec, ssh).
func (a *app) readState() (*lab.Lab, *lab.State, error) {
	l, err := a.lab()
	if err != nil {
		return nil, nil, err
	}
	dir, err := a.dir(l)
	if err != nil {
		return nil, nil, err
	}
	s, err := lab.ReadState(dir)
	if err != nil {
		return nil, nil, err
	}
	if err := s.CheckLab(dir, l.Name); err != nil {
		return nil, nil, err
	}
	return l, s, nil
}

// checkDuration refuses a negative duration flag, or one above max (an
// hour typed as 1000000h is a typo, not a plan).
func checkDuration(flag string, d, max time.Duration) error {
	if d < 0 {
		return badInput("%s %s: must not be negative", flag, d)
	}
	if d > max {
		return badInput("%s %s: at most %s", flag, d, max)
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func (a *app) printf(format string, args ...any) {
	fmt.Fprintf(a.out, format, args...)
}
