package pipeline

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/lab"
)

// writeState makes a state directory under root as up leaves it.
func writeState(t *testing.T, root, name string, end *time.Time) string {
	t.Helper()
	dir := filepath.Join(root, name)
	st, err := lab.Open(dir, name, 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := &lab.State{Lab: name, Provider: lab.ProviderState{Type: "local"}, EndsAt: end, Clusters: []lab.Cluster{{Index: 1}}}
	if err := st.Save(s); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSweep(t *testing.T) {
	root := t.TempDir()
	now := time.Date(2026, 12, 10, 8, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Hour), now.Add(48*time.Hour)
	ended := writeState(t, root, "ended", &past)
	kept := writeState(t, root, "future", &future)
	open := writeState(t, root, "no-end", nil)
	var destroyed []string
	w := &Sweep{Root: root, Now: now, Destroy: func(l *lab.Lab, st *lab.Store, s *lab.State) error {
		if l.Provider.Type != "local" || st.Dir() != filepath.Join(root, l.Name) {
			t.Errorf("destroy of %s: lab %+v in %s", s.Lab, l, st.Dir())
		}
		destroyed = append(destroyed, l.Name)
		return nil
	}}
	var out bytes.Buffer
	w.Out = &out
	if err := w.Run(); err != nil || len(destroyed) > 0 || !strings.Contains(out.String(), "ended (") || !strings.Contains(out.String(), "would be destroyed") {
		t.Fatalf("without --yes, sweep lists and destroys nothing: %v %v\n%s", err, destroyed, out.String())
	}
	w.Yes = true
	out.Reset()
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(destroyed, []string{"ended"}) {
		t.Errorf("destroyed %v, want [ended]\n%s", destroyed, out.String())
	}
	if _, err := os.Stat(filepath.Join(ended, "state.json")); !os.IsNotExist(err) {
		t.Errorf("the ended lab's state is still there: %v", err)
	}
	for _, d := range []string{kept, open} {
		if _, err := lab.ReadState(d); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
	for _, want := range []string{"future (" + kept + "): ends in 48h", "no-end (" + open + "): no end date: left alone", "ended (" + ended + "): ended 1h0m0s ago, 1 clusters, provider local: destroyed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestUpRefusesAnEndedClass(t *testing.T) {
	l := &lab.Lab{EndsAt: "2020-01-01"}
	err := checkEnd(l, time.Now())
	if err == nil || !strings.Contains(err.Error(), "endsAt: the class ended") {
		t.Fatalf("got %v", err)
	}
	if checkEnd(&lab.Lab{EndsAt: "2999-01-01"}, time.Now()) != nil || checkEnd(&lab.Lab{}, time.Now()) != nil {
		t.Error("a class not ended is refused")
	}
}
