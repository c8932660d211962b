// Package check evaluates the course's checkpoints on attendee clusters:
// declarative conditions ("deployment worker has 10 ready replicas")
// read through client-go over labctl's tunnel, never kubectl text. The
// shipped course is course.yaml, chapter by chapter in the deck's order;
// an instructor's own file adds chapters or checks.
package check

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed course.yaml
var shipped []byte

// ShippedFile names the embedded course in messages.
const ShippedFile = "course.yaml (shipped)"

// Course is the chapters in course order.
type Course struct {
	Chapters []Chapter `yaml:"chapters"`
}

// Chapter is one step of the course and the checks that say it is done.
type Chapter struct {
	ID     string  `yaml:"id" json:"id"`
	Title  string  `yaml:"title" json:"title"`
	Checks []Check `yaml:"checks" json:"checks"`
	// File is where the chapter was defined, for messages.
	File string `yaml:"-" json:"-"`
}

// Check is one declarative condition; Kind says which fields it reads.
type Check struct {
	ID    string `yaml:"id" json:"id"`
	Title string `yaml:"title" json:"title,omitempty"`
	Kind  string `yaml:"kind" json:"kind"`
	// Namespace of the object (default "default"; ignored for cluster-wide kinds).
	Namespace string `yaml:"namespace" json:"namespace,omitempty"`
	// Resource is the object kind of an "exists" check (Deployment, Service...).
	Resource string `yaml:"resource" json:"resource,omitempty"`
	Name     string `yaml:"name" json:"name,omitempty"`
	Selector string `yaml:"selector" json:"selector,omitempty"`
	// Replicas is the least number of ready replicas (deployment).
	Replicas int `yaml:"replicas" json:"replicas,omitempty"`
	// Image, when set, must be contained in a container's image (deployment).
	Image string `yaml:"image" json:"image,omitempty"`
	// Probe is "liveness" or "readiness": a container must have one (deployment).
	Probe string `yaml:"probe" json:"probe,omitempty"`
	// Endpoints is the least number of ready endpoints (endpoints).
	Endpoints int `yaml:"endpoints" json:"endpoints,omitempty"`
	// Context is a context name in the attendee's kubeconfig on node1.
	Context string `yaml:"context" json:"context,omitempty"`

	line int
}

// Kinds are the check kinds and the fields each one requires.
var Kinds = map[string][]string{
	"exists":     {"resource"},
	"deployment": {"name"},
	"endpoints":  {"name"},
	"everynode":  {"selector"},
	"netpol":     {"selector"},
	"helm":       {},
	"context":    {"context"},
	"mining":     {},
}

// Shipped is the course labctl ships.
func Shipped() (*Course, error) { return Parse(ShippedFile, shipped) }

// Load is the shipped course plus the instructor's file, when path is set:
// a chapter with a new id comes after the shipped ones, a chapter with a
// shipped id adds its checks to that chapter.
func Load(path string) (*Course, error) { return load(path, os.ReadFile) }

func load(path string, read func(string) ([]byte, error)) (*Course, error) {
	c, err := Shipped()
	if err != nil || path == "" {
		return c, err
	}
	data, err := read(path)
	if err != nil {
		return nil, fmt.Errorf("checks: %w", err)
	}
	own, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	for _, ch := range own.Chapters {
		if i := c.index(ch.ID); i >= 0 {
			for _, k := range ch.Checks {
				if slices.ContainsFunc(c.Chapters[i].Checks, func(o Check) bool { return o.ID == k.ID }) {
					return nil, fmt.Errorf("%s:%d: chapters: check %q already in chapter %q", path, k.line, k.ID, ch.ID)
				}
			}
			c.Chapters[i].Checks = append(c.Chapters[i].Checks, ch.Checks...)
			continue
		}
		c.Chapters = append(c.Chapters, ch)
	}
	return c, nil
}

func (c *Course) files() []string {
	var fs []string
	for _, ch := range c.Chapters {
		if !slices.Contains(fs, ch.File) {
			fs = append(fs, ch.File)
		}
	}
	return fs
}

func (c *Course) index(id string) int {
	return slices.IndexFunc(c.Chapters, func(ch Chapter) bool { return ch.ID == id })
}

// Select returns the named chapters in course order, or all of them when
// ids is empty. An unknown id is an error naming the chapters there are.
func (c *Course) Select(ids []string) ([]Chapter, error) {
	if len(ids) == 0 {
		return c.Chapters, nil
	}
	var out []Chapter
	for _, ch := range c.Chapters {
		if slices.Contains(ids, ch.ID) {
			out = append(out, ch)
		}
	}
	for _, id := range ids {
		if c.index(id) < 0 {
			var have []string
			for _, ch := range c.Chapters {
				have = append(have, ch.ID)
			}
			return nil, fmt.Errorf("chapter %q: no such chapter in %s (chapters: %s)", id, strings.Join(c.files(), " or "), strings.Join(have, ", "))
		}
	}
	return out, nil
}

// Parse reads a course file strictly: unknown fields, unknown kinds and
// missing fields are errors naming the file, the line and the field.
func Parse(file string, data []byte) (*Course, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(file, "", 0, err)
	}
	c := &Course{}
	if len(doc.Content) == 0 {
		return c, nil
	}
	top := doc.Content[0]
	if err := known(file, "", top, reflect.TypeOf(Course{})); err != nil {
		return nil, err
	}
	chapters := field(top, "chapters")
	if chapters == nil {
		return c, nil
	}
	if chapters.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s:%d: chapters: expected a list", file, chapters.Line)
	}
	seen := map[string]bool{}
	for i, n := range chapters.Content {
		at := fmt.Sprintf("chapters[%d]", i)
		if err := known(file, at, n, reflect.TypeOf(Chapter{})); err != nil {
			return nil, err
		}
		var ch Chapter
		if err := n.Decode(&ch); err != nil {
			return nil, yamlError(file, at, n.Line, err)
		}
		ch.File = file
		if !isID(ch.ID) {
			return nil, fmt.Errorf("%s:%d: %s.id: %q is not a lowercase name (a-z, 0-9, -)", file, n.Line, at, ch.ID)
		}
		if seen[ch.ID] {
			return nil, fmt.Errorf("%s:%d: %s.id: chapter %q defined twice", file, n.Line, at, ch.ID)
		}
		seen[ch.ID] = true
		checks := field(n, "checks")
		ids := map[string]bool{}
		for j := range ch.Checks {
			cn := checks.Content[j]
			cat := fmt.Sprintf("%s.checks[%d]", at, j)
			if err := known(file, cat, cn, reflect.TypeOf(Check{})); err != nil {
				return nil, err
			}
			k := &ch.Checks[j]
			k.line = cn.Line
			if err := k.validate(); err != nil {
				line := cn.Line
				if fn := field(cn, err.field); fn != nil {
					line = fn.Line
				}
				return nil, fmt.Errorf("%s:%d: %s.%s: %s", file, line, cat, err.field, err.msg)
			}
			if ids[k.ID] {
				return nil, fmt.Errorf("%s:%d: %s.id: check %q defined twice in chapter %q", file, cn.Line, cat, k.ID, ch.ID)
			}
			ids[k.ID] = true
		}
		c.Chapters = append(c.Chapters, ch)
	}
	return c, nil
}

type fieldError struct{ field, msg string }

func (k *Check) validate() *fieldError {
	if !isID(k.ID) {
		return &fieldError{"id", fmt.Sprintf("%q is not a lowercase name (a-z, 0-9, -)", k.ID)}
	}
	need, ok := Kinds[k.Kind]
	if !ok {
		var names []string
		for n := range Kinds {
			names = append(names, n)
		}
		slices.Sort(names)
		return &fieldError{"kind", fmt.Sprintf("unknown kind %q (kinds: %s)", k.Kind, strings.Join(names, ", "))}
	}
	v := reflect.ValueOf(*k)
	for _, f := range need {
		if v.FieldByNameFunc(func(n string) bool { return strings.EqualFold(n, f) }).IsZero() {
			return &fieldError{f, fmt.Sprintf("required by kind %q", k.Kind)}
		}
	}
	if k.Kind == "exists" {
		if _, ok := resources[strings.ToLower(k.Resource)]; !ok {
			return &fieldError{"resource", fmt.Sprintf("unknown resource %q (resources: %s)", k.Resource, resourceNames())}
		}
		if k.Name == "" && k.Selector == "" {
			return &fieldError{"name", "an exists check needs a name or a selector"}
		}
	}
	if k.Probe != "" && k.Probe != "liveness" && k.Probe != "readiness" {
		return &fieldError{"probe", fmt.Sprintf("%q: want liveness or readiness", k.Probe)}
	}
	if k.Replicas < 0 || k.Endpoints < 0 {
		return &fieldError{"replicas", "must not be negative"}
	}
	if k.Namespace == "" {
		k.Namespace = "default"
	}
	return nil
}

func isID(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// known refuses a mapping key that t has no yaml field for.
func known(file, at string, n *yaml.Node, t reflect.Type) error {
	if n.Kind != yaml.MappingNode {
		where := at
		if where == "" {
			where = "(top level)"
		}
		return fmt.Errorf("%s:%d: %s: expected a mapping of fields", file, n.Line, where)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		ok := false
		for j := 0; j < t.NumField(); j++ {
			if tag, _, _ := strings.Cut(t.Field(j).Tag.Get("yaml"), ","); tag == k.Value && tag != "-" {
				ok = true
			}
		}
		if !ok {
			name := k.Value
			if at != "" {
				name = at + "." + k.Value
			}
			return fmt.Errorf("%s:%d: unknown field %q", file, k.Line, name)
		}
	}
	return nil
}

func field(n *yaml.Node, name string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == name {
			return n.Content[i+1]
		}
	}
	return nil
}

// yamlError turns a YAML library error ("yaml: line 4: ...") into one line
// "FILE:4: FIELD: ...".
func yamlError(file, at string, line int, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, tail, ok := strings.Cut(rest, ": "); ok {
			if l, err := strconv.Atoi(n); err == nil {
				line, msg = l, tail
			}
		}
	}
	if at == "" {
		at = "not valid YAML"
	}
	if line == 0 {
		return fmt.Errorf("%s: %s: %s", file, at, msg)
	}
	return fmt.Errorf("%s:%d: %s: %s", file, line, at, msg)
}
