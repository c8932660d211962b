package e2e

import (
	"encoding/json"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// card is one access card of `labctl cards --format json --show-secrets`.
type card struct {
	Attendee int    `json:"attendee"`
	Cluster  int    `json:"cluster"`
	Spare    bool   `json:"spare"`
	Login    string `json:"login"`
	Password string `json:"password"`
	Node1    string `json:"node1"`
}

func cardsJSON(t *testing.T, l *testLab) []card {
	t.Helper()
	r := labctl(t, l, "", "cards", "--format", "json", "--show-secrets", "-o", "-")
	var deck struct {
		Clusters []card `json:"clusters"`
	}
	if r.code != 0 {
		t.Fatalf("cards: exit %d", r.code)
	}
	if err := json.Unmarshal([]byte(r.stdout), &deck); err != nil {
		t.Fatalf("cards: %v\n%s", err, r.stdout)
	}
	return deck.Clusters
}

// passwordLogin logs into addr:22 as user with password, checking the
// host key the state pinned, and runs cmd.
func passwordLogin(addr, hostKey, user, password, cmd string) (string, error) {
	hk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(hostKey))
	if err != nil {
		return "", err
	}
	cfg := &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.Password(password)},
		HostKeyCallback: pinned(hostKey), HostKeyAlgorithms: []string{hk.Type()}, Timeout: 10 * time.Second}
	cl, err := ssh.Dial("tcp", net.JoinHostPort(addr, "22"), cfg)
	if err != nil {
		return "", err
	}
	defer cl.Close()
	sess, err := cl.NewSession()
	if err != nil {
		return "", err
	}
	out, err := sess.Output(cmd)
	return string(out), err
}

// TestSpares: a class of 1 attendee and 1 spare. Attendee 1's cluster
// breaks (kubelet stopped on node1), `labctl swap 1` gives them the spare:
// their card names the spare's node1 and its password logs in; status,
// exec --attendee and check follow; the old cluster is hard-reset and
// comes back as a healthy spare.
func TestSpares(t *testing.T) {
	needE2E(t)
	l := newLab(t, "e2e-spares", "attendees: 1\nnodesPerCluster: 2\nspares: 1\n")
	up := labctl(t, l, "", "up")
	if up.code != 0 {
		t.Fatalf("up: exit %d", up.code)
	}
	if !strings.Contains(up.stdout, "cluster 01 (attendee 01): ok") || !strings.Contains(up.stdout, "cluster 02 (spare): ok") {
		t.Errorf("up's report must say whom each cluster serves:\n%s", up.stdout)
	}
	cards := cardsJSON(t, l)
	if len(cards) != 2 || cards[0].Attendee != 1 || cards[0].Cluster != 1 || !cards[1].Spare || cards[1].Cluster != 2 {
		t.Fatalf("cards before the swap: %+v", cards)
	}
	oldPassword, sparePassword := cards[0].Password, cards[1].Password

	// Break attendee 1's cluster.
	if r := labctl(t, l, "", "exec", "--attendee", "1", "--node", "node1", "--", "systemctl stop kubelet"); r.code != 0 || !strings.Contains(r.stdout, "01/node1") {
		t.Fatalf("stopping kubelet on attendee 1's node1: exit %d", r.code)
	}

	// Bad input changes nothing.
	before := readState(t, l).Attendees
	if r := labctl(t, l, "", "swap", "--yes", "2"); r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, "no attendee 2") {
		t.Errorf("swap of attendee 2 of 1: want one line, exit 2; got %d %q", r.code, r.stderr)
	}
	if r := labctl(t, l, "", "swap", "1"); r.code != 2 || !strings.Contains(r.stderr, "pass --yes to confirm") {
		t.Errorf("swap without --yes and no terminal: want exit 2; got %d %q", r.code, r.stderr)
	}
	if after := readState(t, l).Attendees; after[1] != before[1] || after[1] != 1 {
		t.Fatalf("a refused swap changed the map: %v → %v", before, after)
	}

	start := time.Now()
	swap := labctl(t, l, "", "swap", "--yes", "1")
	took := time.Since(start)
	if swap.code != 0 {
		t.Fatalf("swap: exit %d", swap.code)
	}
	t.Logf("swap with the hard reset of the old cluster: %s", took.Round(time.Second))
	m := regexp.MustCompile(`(?m)^    attendee 01 → cluster 02 \(was cluster 01\)`).FindString(swap.stdout)
	if m == "" || !strings.Contains(swap.stdout, "spare cluster 02: healthy") || !strings.Contains(swap.stdout, "cluster 01: a spare again") {
		t.Errorf("swap's report:\n%s", swap.stdout)
	}

	st := readState(t, l)
	if st.Attendees[1] != 2 || st.Cluster(1).NeedsReset != "" {
		t.Fatalf("state after the swap: attendees %v, cluster 1 needs reset %q", st.Attendees, st.Cluster(1).NeedsReset)
	}
	spareNode1 := st.Cluster(2).Node("node1")

	t.Run("the attendee's card names the spare's node1, and its password logs in over SSH", func(t *testing.T) {
		cards := cardsJSON(t, l)
		c := cards[0]
		if c.Attendee != 1 || c.Cluster != 2 || c.Node1 != spareNode1.PublicAddress || c.Password != sparePassword {
			t.Fatalf("attendee 1's card: %+v; want cluster 2, node1 %s and its password", c, spareNode1.PublicAddress)
		}
		if len(cards) != 2 || !cards[1].Spare || cards[1].Cluster != 1 || cards[1].Password == oldPassword {
			t.Errorf("the old cluster's card: %+v; want a spare with a new password", cards[1])
		}
		out, err := passwordLogin(c.Node1, spareNode1.HostKey, c.Login, c.Password, "whoami && hostname && kubectl get nodes --no-headers | grep -c ' Ready'")
		if err != nil || !strings.HasPrefix(out, "k8s\nnode1\n2") {
			t.Fatalf("password login on the spare's node1: %v %q", err, out)
		}
		old := st.Cluster(1).Node("node1")
		if _, err := passwordLogin(old.PublicAddress, old.HostKey, c.Login, oldPassword, "true"); err == nil {
			t.Error("the attendee's old password still opens the old cluster, now a spare")
		}
		text := labctl(t, l, "", "cards", "--format", "text", "-o", "-").stdout
		if !strings.Contains(text, "Attendee 01 · cluster 02 — ") || !strings.Contains(text, "ssh k8s@"+spareNode1.PublicAddress) || !strings.Contains(text, "Spare · cluster 01 — ") {
			t.Errorf("text cards:\n%s", text)
		}
	})

	t.Run("status, exec and check speak in attendees and name the cluster behind; the old cluster is a healthy spare", func(t *testing.T) {
		var r result
		healthy := regexp.MustCompile(`(?m)^spare → 01\s+2/2\s+2/2\s+ok\s`)
		for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(5 * time.Second) {
			r = labctl(t, l, "", "status")
			if healthy.MatchString(r.stdout) || time.Now().After(deadline) {
				break
			}
		}
		if !regexp.MustCompile(`(?m)^01 → 02\s+2/2\s+2/2\s+ok\s`).MatchString(r.stdout) || !healthy.MatchString(r.stdout) {
			t.Errorf("status must show attendee 01 → cluster 02 and a healthy spare 01:\n%s", r.stdout)
		}
		js := labctl(t, l, "", "status", "--json").stdout
		if !strings.Contains(js, `"attendee": 1`) || !strings.Contains(js, `"spare": true`) {
			t.Errorf("status --json: %s", js)
		}
		e := labctl(t, l, "", "exec", "--attendee", "1", "--node", "node1", "--", "hostname")
		if e.code != 0 || !strings.Contains(e.stdout, "[02/node1] node1") || !strings.Contains(e.stderr, "attendee 01 → cluster 02") {
			t.Errorf("exec --attendee 1 must run on cluster 2 and say so: %q %q", e.stdout, e.stderr)
		}
		c := labctl(t, l, "", "check", "first-deployment")
		if !strings.Contains(c.stdout, "01 → 02") || strings.Contains(c.stdout, "\n01 → 01") {
			t.Errorf("check must have one row, attendee 01 on cluster 02:\n%s", c.stdout)
		}
	})
	if t.Failed() {
		return
	}
	// The spare is the one swap would hand out next: a swap back without
	// a reset (kept lean) moves attendee 1 to cluster 1.
	again := labctl(t, l, "", "swap", "--no-reset", "1")
	if again.code != 0 || !strings.Contains(again.stdout, "attendee 01 → cluster 01 (was cluster 02)") {
		t.Fatalf("a second swap onto the reset cluster: exit %d", again.code)
	}
	if r := labctl(t, l, "", "swap", "--no-reset", "1"); r.code != 1 || !strings.Contains(r.stderr, "no healthy spare left: cluster 02 needs a reset") {
		t.Errorf("a third swap, the only spare waiting for its reset: want exit 1 naming why; got %d %q", r.code, r.stderr)
	}
	if c := cardsJSON(t, l); c[0].Cluster != 1 || c[0].Node1 != st.Cluster(1).Node("node1").PublicAddress {
		t.Errorf("after the swap back: %+v", c[0])
	}
}
