package check

import "testing"

// The shipped course parses, in the deck's order, every check valid.
func TestShippedCourse(t *testing.T) {
	c, err := Shipped()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, ch := range c.Chapters {
		ids = append(ids, ch.ID)
		if len(ch.Checks) == 0 {
			t.Errorf("chapter %s has no checks", ch.ID)
		}
	}
	want := []string{"first-deployment", "scaling", "exposing", "dockercoins", "worker-scaled", "daemonset", "rolling-update", "healthchecks", "helm", "namespaces", "netpol", "rbac"}
	for i, id := range want {
		if i >= len(ids) || ids[i] != id {
			t.Fatalf("chapters %v, want them to start with %v", ids, want)
		}
	}
}
