package e2e

import (
	"regexp"
	"strings"
	"testing"

	"github.com/labctl/labctl/coins/images"
)

// kvStatefulSet is the deck's Stateful set with a volumeClaimTemplate and
// no storageClassName (the default class), running the preloaded Redis,
// whose data directory is /data: a real server that keeps its data in a
// file (SAVE writes /data/dump.rdb, a restart loads it).
var kvStatefulSet = `apiVersion: v1
kind: Service
metadata: {name: kv}
spec:
  clusterIP: None
  selector: {app: kv}
  ports: [{port: 6379}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: kv}
spec:
  serviceName: kv
  selector: {matchLabels: {app: kv}}
  template:
    metadata: {labels: {app: kv}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: redis
        image: ` + images.RedisRef + `
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
`

// storageChapter replays the deck's stateful chapter as the attendee on
// node1 of a lab with the storage add-on: a StatefulSet's claim gets a
// volume of the default class on the pod's node, its data survives the
// pod's deletion, and deleting the set and its claim removes the volume
// and its directory on the node.
func storageChapter(t *testing.T, l *testLab) {
	t.Helper()
	out, code := asAttendee(t, l, "4m", `
kubectl get storageclass --no-headers
cat <<YAML | kubectl apply -f -
`+kvStatefulSet+`YAML
kubectl rollout status statefulset kv --timeout=150s
kubectl get pvc data-kv-0 -o jsonpath='claim={.status.phase} class={.spec.storageClassName} pv={.spec.volumeName}'; echo
PV=$(kubectl get pvc data-kv-0 -o jsonpath='{.spec.volumeName}')
kubectl get pv $PV -o jsonpath='path={.spec.local.path} pinned={.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]} reclaim={.spec.persistentVolumeReclaimPolicy}'; echo
kubectl get pod kv-0 -o jsonpath='before={.spec.nodeName} {.metadata.uid}'; echo
kubectl exec kv-0 -- redis-cli set chapter stateful-sets
kubectl exec kv-0 -- redis-cli save`)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if !regexp.MustCompile(`(?m)^node-local \(default\)\s+labctl.io/node-local\s+Delete\s+WaitForFirstConsumer`).MatchString(out) {
		t.Errorf("no default class node-local:\n%s", out)
	}
	claim := regexp.MustCompile(`claim=Bound class=node-local pv=(pvc-\S+)`).FindStringSubmatch(out)
	pv := regexp.MustCompile(`path=(/var/lib/labctl/volumes/pvc-\S+_default_data-kv-0) pinned=(node\d) reclaim=Delete`).FindStringSubmatch(out)
	before := regexp.MustCompile(`before=(node\d) (\S+)`).FindStringSubmatch(out)
	if claim == nil || pv == nil || before == nil {
		t.Fatalf("the claim is not bound to a node-local volume:\n%s", out)
	}
	dir, node := pv[1], pv[2]
	if before[1] != node {
		t.Errorf("the pod runs on %s, its volume is on %s", before[1], node)
	}

	t.Run("the data is in the volume's directory on the pod's node", func(t *testing.T) {
		r := labctl(t, l, "", "exec", "--cluster", "1", "--node", node, "--", "ls -l "+dir+" && stat -c 'mode=%a' "+dir)
		if r.code != 0 || !strings.Contains(r.stdout, "dump.rdb") || !strings.Contains(r.stdout, "mode=777") {
			t.Errorf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("the data survives the pod's deletion", func(t *testing.T) {
		out, code := asAttendee(t, l, "3m", `
kubectl delete pod kv-0
for i in $(seq 60); do kubectl wait --for=condition=Ready pod/kv-0 --timeout=5s >/dev/null 2>&1 && break; sleep 1; done
kubectl get pod kv-0 -o jsonpath='after={.spec.nodeName} {.metadata.uid}'; echo
echo "value=$(kubectl exec kv-0 -- redis-cli get chapter)"`)
		after := regexp.MustCompile(`after=(node\d) (\S+)`).FindStringSubmatch(out)
		if code != 0 || after == nil {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if after[2] == before[2] {
			t.Errorf("kv-0 was not recreated (uid %s)", after[2])
		}
		if !strings.Contains(out, "value=stateful-sets") {
			t.Errorf("the recreated pod lost the data:\n%s", out)
		}
	})

	t.Run("deleting the set and its claim removes the volume and its data", func(t *testing.T) {
		out, code := asAttendee(t, l, "3m", `
kubectl delete statefulset,service kv
kubectl delete pvc data-kv-0
for i in $(seq 60); do kubectl get pv `+claim[1]+` >/dev/null 2>&1 || break; sleep 1; done
kubectl get pv `+claim[1]+` 2>&1 | sed 's/^/pv: /'`)
		if code != 0 || !strings.Contains(out, "pv: Error from server (NotFound)") {
			t.Fatalf("the volume is still there (exit %d):\n%s", code, out)
		}
		r := labctl(t, l, "", "exec", "--cluster", "1", "--node", node, "--", "test -e "+dir+" && echo dir=present || echo dir=gone; ls /var/lib/labctl/volumes | wc -l | sed 's/^/volumes=/'")
		if !strings.Contains(r.stdout, "dir=gone") || !strings.Contains(r.stdout, "volumes=0") {
			t.Errorf("the volume's directory is still on %s:\n%s", node, r.stdout)
		}
	})
}
