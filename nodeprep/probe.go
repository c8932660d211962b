package nodeprep

import (
	"bufio"
	"fmt"
	"strings"
)

// probeScript asks a node, in one round trip, which steps are recorded
// with which digest and whether each step's check still holds. Digests
// are read with the shell's own read: the whole probe is one of many on a
// busy class, and every process it starts counts.
func probeScript(steps []Step) string {
	var b strings.Builder
	fmt.Fprintf(&b, "d=%s\n", StepDir)
	for _, s := range steps {
		check := s.Check
		if check == "" {
			check = "true"
		}
		fmt.Fprintf(&b, "v=; { read -r v < $d/%s; } 2>/dev/null; printf 'step %s %%s ' \"${v:--}\"; if { %s; } >/dev/null 2>&1; then echo ok; else echo bad; fi\n", s.Name, s.Name, check)
	}
	return b.String()
}

// fact is what the probe learned about one step on one node.
type fact struct {
	digest string
	ok     bool
}

func parseProbe(out string) (map[string]fact, error) {
	facts := map[string]fact{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 || f[0] != "step" {
			return nil, fmt.Errorf("probe printed %q", sc.Text())
		}
		facts[f[1]] = fact{digest: f[2], ok: f[3] == "ok"}
	}
	return facts, nil
}

// plan lists the steps a node needs: those never done, done with other
// inputs, or whose check fails now. Steps stay in their order.
func plan(steps []Step, facts map[string]fact) []Step {
	var todo []Step
	for _, s := range steps {
		f, ok := facts[s.Name]
		if !ok || f.digest != s.Digest() || !f.ok {
			todo = append(todo, s)
		}
	}
	return todo
}
