package pipeline

import (
	"time"

	"github.com/labctl/labctl/phase"
)

// phaseContext is what every phase of this run is given: the lab, its
// state, the probe round's executors, ssh.parallel, the run's output and
// save, the clusters that failed earlier left out, and record.
func (u *Up) phaseContext() phase.Context {
	return phase.Context{
		Lab: u.Lab, State: u.State, Exec: u.exec, Parallel: u.Lab.SSH.Parallel,
		Out: u.Out, Save: u.save, Skip: u.failed, Record: u.record,
	}
}

// record is the one way a phase's outcome on a cluster reaches the state.
func (u *Up) record(o phase.Outcome) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if c := u.State.Cluster(o.Cluster); c != nil {
		c.SetPhase(o.Phase, o.Result(time.Now().UTC()))
	}
}
