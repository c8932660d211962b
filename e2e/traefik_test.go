package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// ingressScript replays the deck's ingress chapter as the attendee on
// node1, with preloaded images standing in for errm/cheese (rng and
// hasher answer GET / with their name and pod): two Deployments and
// Services, an Ingress with a host rule for each (no class named: the
// default IngressClass is Traefik's), then curl with each Host header on
// every node's port 80. Traefik's unknown-host answer is its own 404 page
// (a transparent proxy's 404 has an empty body).
const ingressScript = `
kubectl -n kube-system rollout status ds/traefik-ingress-controller --timeout=120s
kubectl -n kube-system get ds traefik-ingress-controller -o jsonpath='ds-ready={.status.numberReady}/{.status.desiredNumberScheduled}'; echo
kubectl create deployment cheddar --image=dockercoins/rng:v0.1
kubectl create deployment stilton --image=dockercoins/hasher:v0.1
kubectl expose deployment cheddar --port=80
kubectl expose deployment stilton --port=80
kubectl rollout status deployment cheddar --timeout=120s
kubectl rollout status deployment stilton --timeout=120s
IP=$(kubectl get node node1 -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')
for CHEESE in cheddar stilton; do
cat <<INGRESS | kubectl apply -f -
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: $CHEESE
spec:
  rules:
  - host: $CHEESE.$IP.nip.io
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: $CHEESE
            port:
              number: 80
INGRESS
done
kubectl get ingress cheddar -o jsonpath='class={.spec.ingressClassName}'; echo
for N in 1 2 3; do
  for CHEESE in cheddar stilton; do
    # Traefik picks an Ingress up within a few seconds of its creation.
    for i in $(seq 30); do curl -fs -m 2 -H "Host: $CHEESE.$IP.nip.io" http://node$N/ >/dev/null && break; sleep 1; done
    echo "node$N $CHEESE: $(curl -fsS -m 3 -H "Host: $CHEESE.$IP.nip.io" http://node$N/)"
  done
  echo "node$N unknown: $(curl -sS -m 3 -H "Host: gouda.$IP.nip.io" http://node$N/)"
done
echo "api: $(curl -fsS -m 3 http://node2:8080/api/http/routers | jq -r '[.[].rule] | sort | join(" ")')"
echo "dashboard: $(curl -fsS -m 3 http://node3:8080/dashboard/ | grep -o '<title>[^<]*</title>')"
kubectl delete ingress,service,deployment cheddar stilton >/dev/null
`

// traefikChapter replays the deck's ingress chapter as the attendee on a
// 1×3 lab with the traefik add-on: every node, node1 included, routes each
// host to its Service.
func traefikChapter(t *testing.T, l *testLab) {
	t.Helper()
	out, code := asAttendee(t, l, "5m", ingressScript)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{"ds-ready=3/3", "class=traefik"} {
		if !strings.Contains(out, want) {
			t.Errorf("want %s:\n%s", want, out)
		}
	}
	for n := 1; n <= 3; n++ {
		for cheese, body := range map[string]string{"cheddar": "RNG running on cheddar-", "stilton": "HASHER running on stilton-"} {
			if !strings.Contains(out, fmt.Sprintf("node%d %s: %s", n, cheese, body)) {
				t.Errorf("node%d did not route %s to its Service (want %q):\n%s", n, cheese, body, out)
			}
		}
		if !strings.Contains(out, fmt.Sprintf("node%d unknown: 404 page not found", n)) {
			t.Errorf("node%d: an unknown host did not get Traefik's 404:\n%s", n, out)
		}
	}
	if !regexp.MustCompile("api: Host\\(`cheddar\\.\\S+\\.nip\\.io`\\) && PathPrefix\\(`/`\\) Host\\(`stilton\\.").MatchString(out) {
		t.Errorf("Traefik's API on node2:8080 does not list both routers:\n%s", out)
	}
	if !strings.Contains(out, "dashboard: <title>Traefik (labctl)</title>") {
		t.Errorf("no dashboard page on node3:8080:\n%s", out)
	}
}

// traefikGone checks, after traefik was removed from the lab file and up
// ran (its output: up), that its objects, pods and port 80 are gone.
func traefikGone(t *testing.T, l *testLab, up result) {
	t.Helper()
	if !strings.Contains(up.stdout, "DaemonSet kube-system/traefik-ingress-controller") || !strings.Contains(up.stdout, "IngressClass/traefik") {
		t.Errorf("up did not say it removed traefik's objects:\n%s", up.stdout)
	}
	out, _ := asAttendee(t, l, "2m", `
for i in $(seq 30); do kubectl -n kube-system get pods -l app.kubernetes.io/name=traefik --no-headers 2>/dev/null | grep -q . || break; sleep 2; done
echo "pods: $(kubectl -n kube-system get pods -l app.kubernetes.io/name=traefik --no-headers 2>/dev/null | wc -l)"
echo "classes: $(kubectl get ingressclass --no-headers 2>/dev/null | wc -l)"
curl -sS -m 3 http://node2/ >/dev/null 2>&1 && echo port80=open || echo port80=closed`)
	for _, want := range []string{"pods: 0", "classes: 0", "port80=closed"} {
		if !strings.Contains(out, want) {
			t.Errorf("want %s after removal:\n%s", want, out)
		}
	}
}
