package phase

import (
	"fmt"
	"io"
	"strings"

	"github.com/labctl/labctl/lab"
	labphase "github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/remote"
)

// on is a phase context over fake nodes named by label ("03/node2"): its
// state has their clusters and nodes, in the order given, and Exec
// reaches them; out receives the phase's lines (nil: none).
func on(out io.Writer, nodes ...remote.Executor) labphase.Context {
	st := &lab.State{}
	by := map[string]remote.Executor{}
	for _, x := range nodes {
		by[x.Name()] = x
		c, n, _ := strings.Cut(x.Name(), "/")
		var idx int
		if _, err := fmt.Sscanf(c, "%d", &idx); err != nil {
			panic("node label " + x.Name())
		}
		if st.Cluster(idx) == nil {
			st.Clusters = append(st.Clusters, lab.Cluster{Index: idx})
		}
		cl := st.Cluster(idx)
		cl.Nodes = append(cl.Nodes, lab.Node{Name: n})
	}
	return labphase.Context{State: st, Out: out, Exec: func(c int, n string) remote.Executor { return by[lab.Label(c, n)] }}
}
