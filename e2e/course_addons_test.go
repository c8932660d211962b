package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// courseLabFile is TestCourse's lab file (1 × 3, DockerCoins enabled) with
// these add-ons.
func courseLabFile(l *testLab, addons ...string) string {
	body := "name: " + l.name + "\nnodesPerCluster: 3\ncoins: {enabled: true}\n"
	if len(addons) > 0 {
		body += "addons: [" + strings.Join(addons, ", ") + "]\n"
	}
	return body
}

// section is what up printed under its "==> name" heading.
func section(out, name string) string {
	_, rest, ok := strings.Cut(out, "==> "+name+"\n")
	if !ok {
		return ""
	}
	if i := strings.Index(rest, "==> "); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// addonChapters adds the four add-ons with an offline source to
// TestCourse's running lab, as an instructor would (edit the lab file, run
// up), and replays each add-on's chapter as the attendee on it; then takes
// two of them away and puts one back. One lab serves every chapter.
func addonChapters(t *testing.T, l *testLab) {
	all := []string{"metrics-server", "traefik", "storage", "prometheus"}
	write(t, l.file, courseLabFile(l, all...))
	start := time.Now()
	up := labctl(t, l, "", "up")
	if up.code != 0 {
		t.Fatalf("up with the add-ons failed (exit %d): %s", up.code, up.stderr)
	}
	t.Logf("adding %v to the running lab took %s", all, time.Since(start).Round(time.Second))
	if !strings.Contains(up.stdout, "cluster 01: healthy") {
		t.Errorf("the health gate did not pass after the add-ons:\n%s", up.stdout)
	}

	t.Run("metrics-server: kubectl top with verified kubelet certificates, an HPA", func(t *testing.T) {
		// up waited for figures on every node: the attendee's first
		// kubectl top nodes shows them all.
		if tries := checkTop(t, l, 3); tries != 1 {
			t.Errorf("kubectl top nodes needed %d tries after up to show every node", tries)
		}
		r := labctl(t, l, "", "exec", "--cluster", "1", "--node", "node1", "--timeout", "5m", "--", hpaScript)
		if m := regexp.MustCompile(`hpa-utilization: (\d+)`).FindStringSubmatch(r.stdout); m == nil {
			t.Errorf("the HPA never got a CPU utilization:\n%s", r.stdout)
		}
	})
	t.Run("traefik: an Ingress host rule reaches its Service from every node", func(t *testing.T) {
		traefikChapter(t, l)
	})
	t.Run("storage: a StatefulSet's claim is bound, keeps its data, and goes", func(t *testing.T) {
		storageChapter(t, l)
	})
	t.Run("prometheus: the deck's query and the UI", func(t *testing.T) {
		prometheusChapter(t, l, []string{"node1", "node2", "node3"})
	})
	t.Run("prometheus: annotated Services and pods are scraped, as the deck says", func(t *testing.T) {
		annotatedTargets(t, l)
	})

	t.Run("a re-run applies, imports and approves nothing", func(t *testing.T) {
		r := labctl(t, l, "", "up")
		addons := section(r.stdout, "addons")
		if r.code != 0 || !strings.Contains(addons, "add-ons unchanged") {
			t.Fatalf("re-run (exit %d):\n%s", r.code, r.stdout)
		}
		for _, bad := range []string{"applied", "imported"} {
			if strings.Contains(addons, bad) {
				t.Errorf("the re-run's add-ons phase %s something:\n%s", bad, addons)
			}
		}
		for _, bad := range []string{"kubelet restarted", "approved kubelet serving certificate"} {
			if strings.Contains(r.stdout, bad) {
				t.Errorf("the re-run printed %q:\n%s", bad, r.stdout)
			}
		}
	})

	t.Run("metrics-server and traefik removed from the lab file, then metrics-server added back", func(t *testing.T) {
		write(t, l.file, courseLabFile(l, "storage", "prometheus"))
		r := labctl(t, l, "", "up")
		if r.code != 0 {
			t.Fatalf("removing metrics-server and traefik: exit %d\n%s", r.code, r.stdout)
		}
		traefikGone(t, l, r)
		if !strings.Contains(r.stdout, "serverTLSBootstrap off") || !strings.Contains(r.stdout, "APIService/v1beta1.metrics.k8s.io") {
			t.Errorf("up did not say it took metrics-server away:\n%s", r.stdout)
		}
		g := labctl(t, l, "", "exec", "--", "grep -c serverTLSBootstrap /var/lib/kubelet/config.yaml || true")
		if strings.Contains(g.stdout, "] 1") {
			t.Errorf("a kubelet still asks for CA-signed serving certificates:\n%s", g.stdout)
		}
		write(t, l.file, courseLabFile(l, "metrics-server", "storage", "prometheus"))
		if r := labctl(t, l, "", "up"); r.code != 0 || !strings.Contains(r.stdout, "serverTLSBootstrap on") {
			t.Fatalf("adding metrics-server back (exit %d):\n%s", r.code, r.stdout)
		}
		if tries := checkTop(t, l, 3); tries != 1 {
			t.Errorf("kubectl top nodes needed %d tries after up to show every node", tries)
		}
	})
}
