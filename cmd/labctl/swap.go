package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/pipeline"
	"github.com/labctl/labctl/remote"
	"github.com/labctl/labctl/status"
)

func newSwapCmd(a *app) *cobra.Command {
	var noReset, yes bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "swap ATTENDEE",
		Short: "Give an attendee whose cluster broke the next healthy spare cluster",
		Long: `Give ATTENDEE the next healthy spare cluster (spares: N in the lab file), and
make the cluster they leave a spare again.

The spares are checked the way labctl status does (every node answers and
is Ready, one round of up's health checks); the first healthy one, in
cluster order, becomes the attendee's. The state records the new attendee
→ cluster map in one atomic write, and from then on labctl cards writes
the attendee's card (every format) with the spare's node1 and password,
and status, check, exec --attendee and ssh --attendee follow it.

The old cluster is then hard-reset, as labctl reset --level hard
--new-passwords does: what the attendee left on it is gone, it gets a new
password (the attendee's old card no longer opens it) and a new CA, and it
is a healthy spare again. The attendee works on the spare meanwhile. With
--no-reset the old cluster is left as it is, marked "needs reset": swap
never hands it out, and a successful labctl reset --cluster N clears the
mark. Kind clusters are never reset (labctl destroy --cluster N, then
labctl up).

ATTENDEE that the lab does not have: exit 2. No healthy spare: exit 1,
naming why each spare was passed over. Either way nothing changes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 1 {
				return badInput("ATTENDEE: %q is not an attendee number (1, 2, ...)", args[0])
			}
			if timeout <= 0 {
				return badInput("--timeout: must be positive")
			}
			if err := checkDuration("--timeout", timeout, 10*time.Minute); err != nil {
				return err
			}
			l, err := a.lab()
			if err != nil {
				return err
			}
			if err := a.precheck(l, func(s *lab.State) error {
				return (&pipeline.Swap{Lab: l, State: s, Attendee: n}).Check()
			}); err != nil {
				return err
			}
			l, store, s, err := a.openStore(l, "labctl swap", lab.Open)
			if err != nil {
				return err
			}
			defer store.Close()
			wd, _ := os.Getwd()
			w := &pipeline.Swap{
				Lab: l, State: s, Store: store, Out: a.out, Attendee: n, NoReset: noReset,
				SourceDir: wd, Timeout: timeout,
				Engine: func(pin func(remote.Host, string) error) (*remote.Engine, error) {
					return engineFor(l, store.Dir(), s, pin)
				},
				Swapped: func(old, spare int) { a.printSwapped(l, s, n) },
			}
			if err := w.Check(); err != nil {
				return usageError{err}
			}
			if !yes {
				w.Confirm = func(old, spare int, reset bool) error {
					if !reset {
						return nil // nothing is lost: the old cluster stays as it is
					}
					if !term.IsTerminal(int(os.Stdin.Fd())) {
						return badInput("swap resets cluster %d, attendee %d's until now (what is on it is lost): pass --yes to confirm, or --no-reset to keep it; nothing changed", old, n)
					}
					fmt.Fprintf(a.out, "Attendee %02d moves to spare cluster %02d; cluster %02d is then reset and what is on it is lost. Type the attendee number to confirm: ", n, spare, old)
					answer, _ := bufio.NewReader(os.Stdin).ReadString('\n')
					if strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(answer), "0")) != strconv.Itoa(n) {
						return badInput("not confirmed; nothing changed")
					}
					return nil
				}
			}
			return w.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.BoolVar(&noReset, "no-reset", false, `leave the old cluster as it is, marked "needs reset", for labctl reset`)
	f.BoolVar(&yes, "yes", false, "do not ask before the old cluster is reset")
	f.DurationVar(&timeout, "timeout", status.DefaultTimeout, "how long each spare node has to answer its health probe")
	return cmd
}

// printSwapped prints where attendee n connects now, from the card labctl
// cards would write; the password only with --show-secrets.
func (a *app) printSwapped(l *lab.Lab, s *lab.State, n int) {
	deck, err := a.deck(l, s)
	if err != nil {
		fmt.Fprintf(a.errOut, "warning: the attendee's card: %v\n", err)
		return
	}
	for _, c := range deck.Cards {
		if c.Attendee != n || c.Spare {
			continue
		}
		pw := c.Password
		if !a.showSecrets {
			pw = "hidden (--show-secrets prints it)"
		}
		fmt.Fprintf(a.out, "    attendee %02d's card: %s, password %s\n", n, c.SSH, pw)
		fmt.Fprintln(a.out, "    `labctl cards` writes it in every format (the old card no longer applies)")
	}
}
