package nodeprep

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/kubeadm"
	"github.com/labctl/labctl/lab"
)

// Hostile values: each tries to run the command "pwned" on the node, by
// closing a heredoc, a quote or a command, or through an expansion.
var hostileSeeds = []string{
	"x\nPASSWORD\npwned\n",
	"x\nKEY\npwned\nKNOWN\npwned\nBASHRC\npwned\nSSHD\npwned\nATTACH\npwned\nUNIT\npwned\n",
	"'; pwned; '",
	"\"; pwned; \"",
	"$(pwned)",
	"`pwned`",
	"a b;pwned",
	"x && pwned #",
	"x | pwned",
	"\npwned\n",
	"x\\\n;pwned",
	"${IFS}pwned",
	"-n'\"$(pwned)`pwned`\n'PASSWORD\n\"pwned\n",
}

// FuzzNodeScripts renders every node script with a hostile value in each
// string field of NodeData in turn, and checks that each script still
// parses and that running it executes no injected command. A value the
// templates refuse to render is safe: nothing reaches the node.
func FuzzNodeScripts(f *testing.F) {
	bases := []NodeData{sampleData("packages"), sharedKernel(sampleData("cache"))}
	for _, s := range hostileSeeds {
		f.Add(s)
	}
	// A value that ends every heredoc the scripts use.
	delims := map[string]bool{}
	for _, base := range bases {
		scripts, err := renderScripts(base)
		if err != nil {
			f.Fatal(err)
		}
		for _, s := range scripts {
			for _, h := range heredocs(s) {
				delims[h.delim] = true
			}
		}
	}
	for _, s := range clusterScripts("10.244.2.0/24") {
		for _, h := range heredocs(s) {
			delims[h.delim] = true
		}
	}
	all := "x\n"
	for _, d := range slices.Sorted(maps.Keys(delims)) {
		all += d + "\npwned\n"
	}
	f.Add(all)
	sb := newSandbox(f)
	f.Fuzz(func(t *testing.T, hostile string) {
		if strings.ContainsRune(hostile, 0) {
			return // a script cannot carry NUL
		}
		scripts := map[string]string{} // what → script, only those the value changed
		seen := map[string]bool{}
		for _, base := range bases {
			for _, s := range nodeScripts(t, base) {
				seen[s] = true
			}
		}
		for _, s := range clusterScripts("10.244.2.0/24") {
			seen[s] = true
		}
		for bi, base := range bases {
			for _, slot := range stringSlots(base) {
				rendered, err := renderScripts(withString(t, base, slot, hostile))
				if err != nil {
					continue // refused to render
				}
				for name, s := range rendered {
					if !seen[s] {
						seen[s] = true
						scripts[fmt.Sprintf("base %d, step %s, %s=%q", bi, name, slot, hostile)] = s
					}
				}
			}
		}
		for what, script := range clusterScripts(hostile) {
			if !seen[script] {
				seen[script] = true
				scripts[fmt.Sprintf("%s=%q", what, hostile)] = script
			}
		}
		sb.check(t, scripts)
	})
}

// clusterScripts are the kubeadm phase's scripts with a hostile value in
// each of their inputs: the attendee's user, the pod subnet, a node's
// pod range and private address.
func clusterScripts(hostile string) map[string]string {
	out := map[string]string{"kubeconfig user": kubeadm.KubeconfigScript(hostile)}
	bridge := func(what string, c *lab.Cluster, cidrs map[string]string, subnet string) {
		if s, err := kubeadm.BridgeScript("node1", c, cidrs, subnet); err == nil {
			out[what] = s
		}
	}
	cluster := func(addr string) *lab.Cluster {
		return &lab.Cluster{Index: 1, Nodes: []lab.Node{{Name: "node1", PrivateAddress: "10.0.0.2"}, {Name: "node2", PrivateAddress: addr}}}
	}
	cidrs := func(own, other string) map[string]string { return map[string]string{"node1": own, "node2": other} }
	bridge("bridge podSubnet", cluster("10.0.0.3"), cidrs("10.244.0.0/24", "10.244.1.0/24"), hostile)
	bridge("bridge own range", cluster("10.0.0.3"), cidrs(hostile, "10.244.1.0/24"), "10.244.0.0/16")
	bridge("bridge other range", cluster("10.0.0.3"), cidrs("10.244.0.0/24", hostile), "10.244.0.0/16")
	bridge("bridge private address", cluster(hostile), cidrs("10.244.0.0/24", "10.244.1.0/24"), "10.244.0.0/16")
	return out
}

func sharedKernel(d NodeData) NodeData { d.SharedKernel = true; return d }

// renderScripts is every script a node runs for d: each step's, and the
// probe with the steps' checks.
func renderScripts(d NodeData) (map[string]string, error) {
	steps, err := Steps(d, Uploads{})
	if err != nil {
		return nil, err
	}
	out := map[string]string{"probe": probeScript(steps)}
	for _, s := range steps {
		out[s.Name] = s.Script
	}
	return out, nil
}

func nodeScripts(t *testing.T, d NodeData) map[string]string {
	t.Helper()
	m, err := renderScripts(d)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sandbox runs scripts harmlessly: bash in restricted mode (no output
// redirection, no command name with a slash, no cd or exec, kill
// disabled) with a PATH of stubs only. The stub "pwned" records that it
// ran, and which script ran it; the stub "chpasswd" keeps what it read.
type sandbox struct {
	bash, stubs string
}

func newSandbox(tb testing.TB) *sandbox {
	bash, err := exec.LookPath("bash")
	if err != nil {
		tb.Skip("no bash")
	}
	stubs := tb.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(stubs, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	write("pwned", `echo "$SANDBOX_SCRIPT" >> "$SANDBOX_OUT/pwned"`)
	write("chpasswd", `cat >> "$SANDBOX_OUT/chpasswd.$SANDBOX_SCRIPT"`)
	for _, real := range []string{"base64", "cat"} {
		p, err := exec.LookPath(real)
		if err != nil {
			tb.Skip("no " + real)
		}
		if err := os.Symlink(p, filepath.Join(stubs, real)); err != nil {
			tb.Fatal(err)
		}
	}
	return &sandbox{bash: bash, stubs: stubs}
}

// run runs the scripts in the sandbox, each in a subshell of one shell,
// and returns the directory the stubs wrote to.
func (sb *sandbox) run(t *testing.T, scripts []string) string {
	t.Helper()
	dir, out := t.TempDir(), t.TempDir()
	var driver strings.Builder
	driver.WriteString("enable -n kill\nset -r\nexport SANDBOX_SCRIPT\n")
	for i, s := range scripts {
		name := fmt.Sprintf("s%d", i)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&driver, "SANDBOX_SCRIPT=%d; ( eval \"$(< %s)\" )\n", i, name)
	}
	if err := os.WriteFile(filepath.Join(dir, "driver"), []byte(driver.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sb.bash, "--norc", "--noprofile", "driver")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + sb.stubs, "SANDBOX_OUT=" + out, "HOME=" + out}
	_ = cmd.Run() // commands fail here (not found, no redirection): expected
	if ctx.Err() != nil {
		t.Fatal("the scripts did not finish in the sandbox")
	}
	return out
}

// parses says whether bash can parse the script.
func (sb *sandbox) parses(script string) (string, bool) {
	cmd := exec.Command(sb.bash, "--norc", "--noprofile", "-n")
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// check fails if a script does not parse or runs the command "pwned".
func (sb *sandbox) check(t *testing.T, scripts map[string]string) {
	t.Helper()
	if len(scripts) == 0 {
		return
	}
	whats := make([]string, 0, len(scripts))
	for w := range scripts {
		whats = append(whats, w)
	}
	sort.Strings(whats)
	list := make([]string, len(whats))
	for i, w := range whats {
		list[i] = scripts[w]
	}
	// One parse for all; one by one only to find the culprit.
	if _, ok := sb.parses(strings.Join(list, "\n:\n")); !ok {
		for i, s := range list {
			if msg, ok := sb.parses(s); !ok {
				t.Fatalf("%s: the script does not parse: %s\n%s", whats[i], msg, s)
			}
		}
	}
	// What heredocs write may run later (a script, a unit, .bashrc): run
	// their bodies too, for what they would do then.
	for i, n := 0, len(list); i < n; i++ {
		for _, h := range heredocs(list[i]) {
			whats = append(whats, whats[i]+", heredoc "+h.delim)
			list = append(list, h.body)
		}
	}
	out := sb.run(t, list)
	for i := range list {
		// More than one line would set another user's password (root's).
		got, _ := os.ReadFile(filepath.Join(out, fmt.Sprintf("chpasswd.%d", i)))
		if n := strings.Count(string(got), "\n"); n > 1 {
			t.Fatalf("%s: chpasswd read %d lines: %q", whats[i], n, got)
		}
	}
	ran, err := os.ReadFile(filepath.Join(out, "pwned"))
	if err != nil {
		return
	}
	var culprits []string
	for _, f := range strings.Fields(string(ran)) {
		var i int
		fmt.Sscan(f, &i)
		culprits = append(culprits, whats[i])
	}
	sort.Strings(culprits)
	culprits = slices.Compact(culprits)
	first := slices.Index(whats, culprits[0])
	t.Fatalf("injected commands ran on the node in %d scripts:\n  %s\nthe first one:\n%s", len(culprits), strings.Join(culprits, "\n  "), list[first])
}

// stringSlots names every string in d: fields, slice and map elements,
// map keys ("Downloads{amd64}" is the key, "Downloads[amd64][0].URL" a value).
func stringSlots(d NodeData) []string {
	var slots []string
	walkStrings(reflect.ValueOf(&d).Elem(), "", func(path string, _ func(string)) {
		slots = append(slots, path)
	})
	return slots
}

// withString returns a deep copy of d with the string at slot set to v.
func withString(t *testing.T, d NodeData, slot, v string) NodeData {
	data, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var c NodeData
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	found := false
	walkStrings(reflect.ValueOf(&c).Elem(), "", func(path string, set func(string)) {
		if path == slot {
			set(v)
			found = true
		}
	})
	if !found {
		t.Fatalf("no slot %s", slot)
	}
	return c
}

func walkStrings(v reflect.Value, path string, fn func(path string, set func(string))) {
	switch v.Kind() {
	case reflect.String:
		fn(path, func(s string) { v.SetString(s) })
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			walkStrings(v.Field(i), join(path, v.Type().Field(i).Name), fn)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			walkStrings(v.Index(i), fmt.Sprintf("%s[%d]", path, i), fn)
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			val := v.MapIndex(k)
			fn(fmt.Sprintf("%s{%s}", path, k), func(s string) {
				v.SetMapIndex(k, reflect.Value{})
				v.SetMapIndex(reflect.ValueOf(s), val)
			})
			// Slice elements are addressable even when the slice is a map value.
			walkStrings(val, fmt.Sprintf("%s[%s]", path, k), fn)
		}
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// The attack: a password that closes the login script's heredoc
// and runs a root command on every node.
func TestLoginPasswordCannotInject(t *testing.T) {
	sb := newSandbox(t)
	d := sampleData("cache")
	d.Password = "x\nPASSWORD\npwned\n"
	scripts, err := renderScripts(d)
	if err != nil {
		return // refused: nothing reaches the node
	}
	sb.check(t, map[string]string{"login": scripts["login"]})
}

// A password with quotes, spaces and shell characters reaches chpasswd
// unchanged, as one line.
func TestLoginPasswordReachesChpasswd(t *testing.T) {
	sb := newSandbox(t)
	d := sampleData("cache")
	d.Password = `p@ss 'w$rd" \n$(x)` + "`y`"
	scripts, err := renderScripts(d)
	if err != nil {
		t.Fatal(err)
	}
	out := sb.run(t, []string{scripts["login"]})
	got, _ := os.ReadFile(filepath.Join(out, "chpasswd.0"))
	if want := "k8s:" + d.Password + "\n"; string(got) != want {
		t.Fatalf("chpasswd read %q, want %q", got, want)
	}
	for _, s := range []string{d.Password, d.PrivateKey} {
		if strings.Contains(scripts["login"], s) {
			t.Fatalf("the login script carries a secret in clear: %q", s)
		}
	}
}

// Unusual but legitimate values still render.
func TestLegitimateValuesRender(t *testing.T) {
	d := sampleData("packages")
	d.Packages = []string{"libfoo1=1.2~rc1+dfsg-1", "g++"}
	d.PauseImage = "registry.k8s.io/pause@sha256:0123abcd"
	d.PublicIP = "2001:db8::12"
	d.Hosts[0].IP = "fd00::11"
	d.Hosts[1].Name = "node-2.example.com"
	if _, err := Steps(d, Uploads{}); err != nil {
		t.Fatal(err)
	}
	d.Packages = []string{"~root"}
	if _, err := Steps(d, Uploads{}); err == nil {
		t.Fatal("a value starting with ~ rendered")
	}
}

type heredoc struct{ delim, body string }

var heredocStart = regexp.MustCompile(`<<-?\s*'([A-Za-z_][A-Za-z0-9_]*)'`)

// heredocs returns the quoted heredocs of a script, read the way bash
// reads them: the body ends at the first line that is the delimiter.
func heredocs(script string) []heredoc {
	var out []heredoc
	lines := strings.Split(script, "\n")
	for i := 0; i < len(lines); i++ {
		m := heredocStart.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		var body []string
		for i++; i < len(lines) && lines[i] != m[1]; i++ {
			body = append(body, lines[i])
		}
		out = append(out, heredoc{delim: m[1], body: strings.Join(body, "\n") + "\n"})
	}
	return out
}
