package e2e

import (
	"strings"
	"testing"
)

// The hostile attendee of issue 17 on TestReset's cluster 1, as root on
// node1 (passwordless sudo): objects "owned" by a baseline ClusterRole, a
// static Pod, and an APIService that points at nothing (discovery of its
// group fails). hostileMess leaves them; hostileGone checks that the soft
// reset removed them; systemLoginRefused that a login turned into a system
// account is refused on the node before anything changes.

const kubectlAdmin = "kubectl --kubeconfig /etc/kubernetes/admin.conf "

func hostileMess(t *testing.T, l *testLab) {
	t.Helper()
	node1 := containerName(l, 1, "node1")
	out, err := podmanExec(node1, `set -e
uid=$(`+kubectlAdmin+`get clusterrole cluster-admin -o jsonpath='{.metadata.uid}')
owner="ownerReferences: [{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, name: cluster-admin, uid: $uid}]"
`+kubectlAdmin+`apply -f - <<YAML
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: anonymous-admin, $owner}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:anonymous"}]
---
apiVersion: v1
kind: Pod
metadata: {name: owned-bare, namespace: default, $owner}
spec: {containers: [{name: c, image: `+webImage+`}]}
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1.evil.example.com}
spec:
  group: evil.example.com
  version: v1
  service: {name: missing, namespace: default}
  insecureSkipTLSVerify: true
  groupPriorityMinimum: 1000
  versionPriority: 15
YAML
cat > /etc/kubernetes/manifests/evil.yaml <<YAML
apiVersion: v1
kind: Pod
metadata: {name: evil, namespace: default}
spec: {containers: [{name: c, image: `+webImage+`}]}
YAML
for i in $(seq 60); do `+kubectlAdmin+`get pod -n default evil-node1 >/dev/null 2>&1 && break; sleep 2; done
`+kubectlAdmin+`get pod -n default evil-node1 >/dev/null && echo static=running
curl -sk -o /dev/null -w 'anonymous=%{http_code}\n' https://127.0.0.1:6443/api/v1/namespaces/kube-system/secrets`)
	if err != nil || !strings.Contains(out, "static=running") || !strings.Contains(out, "anonymous=200") {
		t.Fatalf("the hostile mess on %s: %v\n%s", node1, err, out)
	}
}

// hostileDryRun are the lines a dry run must print for the hostile mess.
var hostileDryRun = []string{"delete ClusterRoleBinding/anonymous-admin", "delete Pod default/owned-bare",
	"delete APIService/v1.evil.example.com", "delete Pod default/evil-node1", "API group evil.example.com/v1 is unavailable"}

func hostileGone(t *testing.T, l *testLab) {
	t.Helper()
	node1 := containerName(l, 1, "node1")
	out, err := podmanExec(node1, `
for o in clusterrolebinding/anonymous-admin pod/owned-bare apiservice/v1.evil.example.com pod/evil-node1; do
  `+kubectlAdmin+`get -n default $o >/dev/null 2>&1 && echo "still=$o"
done
ls /etc/kubernetes/manifests/evil.yaml >/dev/null 2>&1 && echo still=manifest
curl -sk -o /dev/null -w 'anonymous=%{http_code}\n' https://127.0.0.1:6443/api/v1/namespaces/kube-system/secrets`)
	if err != nil || strings.Contains(out, "still=") || strings.Contains(out, "anonymous=200") || !strings.Contains(out, "anonymous=") {
		t.Errorf("after the reset, the hostile objects: %v\n%s", err, out)
	}
}

// systemLoginRefused turns cluster 1's login into one whose home is /dev
// on node1 (an attendee with sudo can), and checks that a soft reset
// fails at node cleanup naming it, with /dev untouched; then puts it back.
func systemLoginRefused(t *testing.T, l *testLab) {
	t.Helper()
	node1 := containerName(l, 1, "node1")
	const toDev = `sed -i -E 's#^(k8s:[^:]*:[^:]*:[^:]*:[^:]*:)/home/k8s:#\1/dev:#' /etc/passwd`
	const back = `sed -i -E 's#^(k8s:[^:]*:[^:]*:[^:]*:[^:]*:)/dev:#\1/home/k8s:#' /etc/passwd`
	if out, err := podmanExec(node1, toDev+" && getent passwd k8s | cut -d: -f6"); err != nil || strings.TrimSpace(out) != "/dev" {
		t.Fatalf("moving k8s's home to /dev: %v %s", err, out)
	}
	devBefore, _ := podmanExec(node1, "ls /dev | wc -l")
	r := labctl(t, l, "", "reset", "--cluster", "1", "--yes")
	devAfter, _ := podmanExec(node1, "ls /dev | wc -l; test -c /dev/null && echo null=ok")
	if out, err := podmanExec(node1, back+" && getent passwd k8s | cut -d: -f6"); err != nil || strings.TrimSpace(out) != "/home/k8s" {
		t.Fatalf("putting k8s's home back: %v %s", err, out)
	}
	if r.code == 0 || !strings.Contains(r.stdout, "cluster 01: FAILED at node cleanup") || !strings.Contains(r.stdout, "login k8s has its home at /dev, not under /home") {
		t.Errorf("a login with its home at /dev must be refused at node cleanup: exit %d\n%s", r.code, r.stdout)
	}
	if !strings.Contains(devAfter, "null=ok") || !strings.HasPrefix(devAfter, strings.TrimSpace(devBefore)+"\n") {
		t.Errorf("/dev changed: %q entries before, now %q", devBefore, devAfter)
	}
}
