package pipeline

import (
	"slices"
	"testing"
)

// TestPhasesFrom: start and a hard reset run slices of up's own list.
func TestPhasesFrom(t *testing.T) {
	for _, c := range []struct {
		got, want []string
	}{
		{startPhases, []string{"nodeprep", "kubeadm", "addons", "coins", "health"}},
		{rebuild, []string{"kubeadm", "addons", "coins", "health", "baseline"}},
		{phasesFrom("provision", "provision"), []string{"provision"}},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("got %v, want %v", c.got, c.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("phasesFrom(health, kubeadm) did not panic")
		}
	}()
	phasesFrom("health", "kubeadm")
}
