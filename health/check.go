package health

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/remote"
)

// Finding is one failed check: on which node, which check, what it saw.
type Finding struct {
	Node  string
	Check string // kube-system, netcheck, clusterip, dns, pod-to-pod, api-clusterip, api
	Saw   string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s: %s: %s", f.Node, f.Check, f.Saw)
}

// Checks names what a passing round proved, for reports.
const Checks = "kube-system pods Ready, DNS from a pod on every node, ClusterIP from every node, pod to pod across nodes"

// Result is one round: what failed, and the command each node ran.
type Result struct {
	Findings []Finding
	// Probes are the node commands, by node: the same cluster gives the
	// same commands, so a re-run can ask them in its probe round.
	Probes map[string]string
}

// Check runs every check once. nodes maps node names to their executors;
// the node table comes from the API server. Nothing here waits: a round
// costs a few API calls and one short command per node.
func Check(ctx context.Context, cl *kube.Client, nodes map[string]remote.Executor) Result {
	f, probes := check(ctx, cl, nodes)
	return Result{Findings: f, Probes: probes}
}

func check(ctx context.Context, cl *kube.Client, nodes map[string]remote.Executor) ([]Finding, map[string]string) {
	probes := map[string]string{}
	api := func(err error) ([]Finding, map[string]string) {
		return []Finding{{Node: "node1", Check: "api", Saw: oneLine(err.Error())}}, probes
	}
	nl, err := cl.Typed.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return api(err)
	}
	var findings []Finding
	for _, n := range nl.Items {
		if !nodeReady(n) {
			findings = append(findings, Finding{Node: n.Name, Check: "node", Saw: "not Ready"})
		}
	}
	sys, err := cl.Typed.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{})
	if err != nil {
		return api(err)
	}
	for _, p := range sys.Items {
		if p.Status.Phase != corev1.PodSucceeded && !podReady(p) {
			findings = append(findings, Finding{Node: p.Spec.NodeName, Check: "kube-system", Saw: "pod " + p.Name + " not Ready: " + podState(p)})
		}
	}
	probePods, err := cl.Typed.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=" + Name})
	if err != nil {
		return api(err)
	}
	podOn := map[string]corev1.Pod{}
	for _, p := range probePods.Items {
		if p.DeletionTimestamp == nil && podReady(p) && p.Status.PodIP != "" {
			podOn[p.Spec.NodeName] = p
		}
	}
	svc, err := cl.Typed.CoreV1().Services(Namespace).Get(ctx, Name, metav1.GetOptions{})
	if err != nil {
		return append(findings, Finding{Node: "node1", Check: "netcheck", Saw: "service " + Namespace + "/" + Name + ": " + oneLine(err.Error())}), probes
	}
	apiSvc, err := cl.Typed.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		return api(err)
	}
	apiTarget := fmt.Sprintf("%s:443", apiSvc.Spec.ClusterIP)

	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range nl.Items {
		x, ok := nodes[n.Name]
		if !ok {
			mu.Lock()
			findings = append(findings, Finding{Node: n.Name, Check: "node", Saw: "registered in the cluster, but labctl has no way to reach it: not checked"})
			mu.Unlock()
			continue
		}
		local, ok := podOn[n.Name]
		if !ok {
			mu.Lock()
			findings = append(findings, Finding{Node: n.Name, Check: "netcheck", Saw: "no Ready " + Name + " pod on this node" + podsOn(probePods.Items, n.Name)})
			mu.Unlock()
			continue
		}
		var peers []string
		peerNode := map[string]string{}
		for node, p := range podOn {
			if node != n.Name {
				t := fmt.Sprintf("%s:%d", p.Status.PodIP, Port)
				peers = append(peers, t)
				peerNode[t] = node
			}
		}
		sort.Strings(peers)
		line := nodeCommand(svc.Spec.ClusterIP, local.Status.PodIP, peers, []string{apiTarget})
		probes[n.Name] = line
		wg.Go(func() {
			f := checkNode(ctx, x, n.Name, line, svc.Spec.ClusterIP, local.Status.PodIP, peerNode)
			mu.Lock()
			findings = append(findings, f...)
			mu.Unlock()
		})
	}
	wg.Wait()
	sort.SliceStable(findings, func(i, j int) bool { return findings[i].Node < findings[j].Node })
	return findings, probes
}

// checkNode asks one node for the ClusterIP and its probe pod's view.
func checkNode(ctx context.Context, x remote.Executor, node, line, clusterIP, localPod string, peerNode map[string]string) []Finding {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	res, err := x.Run(ctx, remote.Command{Line: line})
	svcAnswer, pod, podErr := parseNodeOutput(string(res.Stdout))
	var f []Finding
	if err != nil {
		// Cut off (a slow node, a busy machine): the ClusterIP's line may
		// have come back before the limit, and says more than the cut.
		if svcAnswer != "" && !strings.HasPrefix(svcAnswer, "pong") {
			f = append(f, clusterIPFinding(node, clusterIP, svcAnswer))
		}
		return append(f, Finding{Node: node, Check: "ssh", Saw: oneLine(err.Error())})
	}
	if !strings.HasPrefix(svcAnswer, "pong") {
		f = append(f, clusterIPFinding(node, clusterIP, svcAnswer))
	}
	if pod == nil {
		return append(f, Finding{Node: node, Check: "netcheck", Saw: fmt.Sprintf("probe pod %s did not answer: %s", localPod, podErr)})
	}
	if !pod.DNS.OK {
		f = append(f, Finding{Node: node, Check: "dns", Saw: fmt.Sprintf("lookup %s from pod %s: %s", ServiceDNS, localPod, orNothing(pod.DNS.Saw))})
	}
	for _, p := range pod.Peers {
		if !p.OK {
			f = append(f, Finding{Node: node, Check: "pod-to-pod", Saw: fmt.Sprintf("pod %s to %s's pod %s: %s", localPod, peerNode[p.Target], p.Target, orNothing(p.Saw))})
		}
	}
	for _, t := range pod.TCP {
		if !t.OK {
			f = append(f, Finding{Node: node, Check: "api-clusterip", Saw: fmt.Sprintf("pod %s to the API server's ClusterIP %s: %s", localPod, t.Target, orNothing(t.Saw))})
		}
	}
	return f
}

// Wait runs Check until it finds nothing or timeout passes, and returns
// the last round's findings (none: the cluster passed).
func Wait(ctx context.Context, cl *kube.Client, nodes map[string]remote.Executor, timeout, every time.Duration) Result {
	deadline := time.Now().Add(timeout)
	for {
		r := Check(ctx, cl, nodes)
		if len(r.Findings) == 0 || !time.Now().Add(every).Before(deadline) || ctx.Err() != nil {
			return r
		}
		select {
		case <-ctx.Done():
			r.Findings = append(r.Findings, Finding{Node: "node1", Check: "api", Saw: ctx.Err().Error()})
			return r
		case <-time.After(every):
		}
	}
}

// Summary is findings as one line per finding.
func Summary(f []Finding) string {
	lines := make([]string, len(f))
	for i, x := range f {
		lines[i] = x.String()
	}
	return strings.Join(lines, "\n")
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podState says why a pod is not Ready: its phase and each unready
// container's state.
func podState(p corev1.Pod) string {
	parts := []string{string(p.Status.Phase)}
	for _, c := range p.Status.ContainerStatuses {
		if c.Ready {
			continue
		}
		s := c.Name
		switch {
		case c.State.Waiting != nil:
			s += " waiting: " + c.State.Waiting.Reason + " " + c.State.Waiting.Message
		case c.State.Terminated != nil:
			s += " terminated: " + c.State.Terminated.Reason + " " + c.State.Terminated.Message
		case c.State.Running != nil:
			s += " running, not ready"
		}
		if c.RestartCount > 0 {
			s += fmt.Sprintf(" (%d restarts)", c.RestartCount)
		}
		parts = append(parts, strings.TrimSpace(s))
	}
	return oneLine(strings.Join(parts, "; "))
}

func podsOn(pods []corev1.Pod, node string) string {
	for _, p := range pods {
		if p.Spec.NodeName == node {
			return " (" + p.Name + ": " + podState(p) + ")"
		}
	}
	return ""
}

func orNothing(s string) string {
	if strings.TrimSpace(s) == "" {
		return "nothing"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func clusterIPFinding(node, clusterIP, answer string) Finding {
	return Finding{Node: node, Check: "clusterip", Saw: fmt.Sprintf("curl http://%s:%d/ping from the node: %s", clusterIP, ServicePort, orNothing(answer))}
}
