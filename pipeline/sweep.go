package pipeline

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/labctl/labctl/lab"
)

// Sweep is one `labctl sweep`: every lab under Root (one state directory
// each) whose class has ended is listed, and with Yes destroyed. Labs with
// no end date, or one still ahead, are left alone.
type Sweep struct {
	Root string
	Now  time.Time
	Yes  bool
	Out  io.Writer
	// Destroy removes a lab's machines, given a lab made from its state
	// (name and provider) and its locked store.
	Destroy func(l *lab.Lab, st *lab.Store, s *lab.State) error
}

// Run lists (and with Yes destroys) the ended labs; one lab that fails is
// named and the others go on.
func (w *Sweep) Run() error {
	entries, err := os.ReadDir(w.Root)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(w.Out, "no labs under %s\n", w.Root)
		return nil
	}
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	var failed []string
	ended := 0
	for _, e := range entries {
		dir := filepath.Join(w.Root, e.Name())
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "state.json")); err != nil {
			continue
		}
		s, err := lab.ReadState(dir)
		if err != nil {
			fmt.Fprintf(w.Out, "    %s: skipped: %v\n", e.Name(), err)
			continue
		}
		switch {
		case s.EndsAt == nil:
			fmt.Fprintf(w.Out, "    %s (%s): no end date: left alone\n", s.Lab, dir)
			continue
		case w.Now.Before(*s.EndsAt):
			fmt.Fprintf(w.Out, "    %s (%s): ends in %s: left alone\n", s.Lab, dir, w.Now.Sub(*s.EndsAt).Abs().Round(time.Minute))
			continue
		}
		ended++
		what := fmt.Sprintf("%s (%s): ended %s ago, %d clusters, provider %s", s.Lab, dir, w.Now.Sub(*s.EndsAt).Round(time.Second), len(s.Clusters), s.Provider.Type)
		if !w.Yes {
			fmt.Fprintf(w.Out, "    %s: would be destroyed (--yes)\n", what)
			continue
		}
		if err := w.destroy(dir, s); err != nil {
			fmt.Fprintf(w.Out, "    %s: FAILED: %v\n", what, err)
			failed = append(failed, s.Lab)
			continue
		}
		fmt.Fprintf(w.Out, "    %s: destroyed\n", what)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d ended labs not destroyed: %v", len(failed), ended, failed)
	}
	return nil
}

func (w *Sweep) destroy(dir string, s *lab.State) error {
	if s.Provider.Type == "pulumi" || s.Provider.Type == "inventory" {
		// A pulumi lab needs its lab file's provider settings; inventory
		// machines are not labctl's.
		return fmt.Errorf("provider %s: run `labctl destroy -f LABFILE --state-dir %s`", s.Provider.Type, dir)
	}
	st, err := lab.Open(dir, s.Lab, 0, "labctl sweep")
	if err != nil {
		return err
	}
	defer st.Close()
	l := &lab.Lab{Name: s.Lab, Provider: lab.ProviderSpec{Type: s.Provider.Type}}
	if err := w.Destroy(l, st, s); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(dir, "state.json")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
