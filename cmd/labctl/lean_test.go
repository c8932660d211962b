package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The CLI links none of what keeps it big and that it does not run
// (issue 18, bench/results/lean.md): the Pulumi SDK (labctl-pulumi runs
// it), kubeadm's validator (a test), client-go's all-groups scheme and
// what imports it (the typed clientset, its discovery), client-go's
// fakes. One import of any of them adds megabytes to `go build`.
func TestLeanDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	banned := []string{
		"github.com/pulumi/pulumi/sdk/v3/go/auto",
		"github.com/pulumi/pulumi/pkg/",
		"github.com/pulumi/pulumi-aws/",
		"k8s.io/kubernetes/cmd/kubeadm/app/util/config",
		"k8s.io/client-go/kubernetes", // the clientset, its scheme and typed packages
		"k8s.io/client-go/discovery",
		"k8s.io/client-go/testing",
		"k8s.io/client-go/gentype",
	}
	for _, p := range strings.Fields(string(out)) {
		for _, b := range banned {
			if p == b || strings.HasPrefix(p, b) && (strings.HasSuffix(b, "/") || p[len(b)] == '/') {
				t.Errorf("the CLI links %s", p)
			}
		}
	}
}
