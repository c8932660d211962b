package webui

import (
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestOverridesKeepTheWorkspace(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pnpm-workspace.yaml")
	os.WriteFile(p, []byte("packages:\n  - \"mantine-ui\"\noverrides:\n  a: \"1\"\n"), 0o644)
	if err := addOverrides(p, map[string]string{"@mantine/code-highlight": "9.6.2"}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Packages  []string
		Overrides map[string]string
	}
	data, _ := os.ReadFile(p)
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Packages) != 1 || doc.Overrides["a"] != "1" || doc.Overrides["@mantine/code-highlight"] != "9.6.2" {
		t.Errorf("workspace file now:\n%s", data)
	}
}

func TestCopyTreeSkips(t *testing.T) {
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "ws")
	os.MkdirAll(filepath.Join(src, "react-app", "src"), 0o755)
	os.MkdirAll(filepath.Join(src, "mantine-ui", "src"), 0o755)
	os.WriteFile(filepath.Join(src, "react-app", "src", "x.ts"), nil, 0o444)
	os.WriteFile(filepath.Join(src, "mantine-ui", "src", "y.ts"), []byte("y"), 0o444)
	if err := copyTree(src, dst, []string{"react-app"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "react-app")); !os.IsNotExist(err) {
		t.Errorf("react-app copied (%v)", err)
	}
	// Writable, unlike the module cache it comes from.
	if err := os.WriteFile(filepath.Join(dst, "mantine-ui", "src", "y.ts"), []byte("z"), 0o644); err != nil {
		t.Error(err)
	}
}

func TestRecipe(t *testing.T) {
	s := Spec{Module: "m", Version: "v1", PNPM: "10.34.9", Overrides: map[string]string{"a": "1"}}
	k := s.Recipe("v20.20.2")
	if k != s.Recipe("v20.20.2") || k == s.Recipe("v22.0.0") {
		t.Error("the recipe is not the spec's and Node.js version's")
	}
	s.Overrides = map[string]string{"a": "2"}
	if k == s.Recipe("v20.20.2") {
		t.Error("the recipe ignores the overrides")
	}
}
