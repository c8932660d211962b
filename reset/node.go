package reset

import (
	"context"
	"embed"
	"fmt"
	"regexp"
	"strings"
	"text/template"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
)

// The same rules as nodeprep's scripts: the one lab value these scripts
// take, the login, must be a plain word, and is single-quoted anyway; a
// value refused fails the rendering, so nothing reaches the node.
var plainRE = regexp.MustCompile(`^[A-Za-z0-9._][A-Za-z0-9._-]*$`)

var funcs = template.FuncMap{
	"q":     remote.ShellQuote,
	"guard": func() string { return lab.LoginGuard },
	"plain": func(s string) (string, error) {
		if !plainRE.MatchString(s) {
			return "", fmt.Errorf("login.user %q: only letters, digits and . _ - are allowed", s)
		}
		return s, nil
	},
}

// MirrorLayout is where coins/mirror keeps the docker.io mirror's OCI
// layout on every node (mirror.DefaultLayout; node_test.go checks).
const MirrorLayout = "/var/lib/labctl/mirror"

// scriptFS holds the node scripts of `labctl reset`: record.sh.tmpl keeps
// a node's baseline (the attendee's home, the preloaded images, /tmp) at
// the end of `labctl up`; soft.sh.tmpl puts the node back to it.
//
//go:embed scripts/*.sh.tmpl
var scriptFS embed.FS

var scripts = template.Must(template.New("reset").Funcs(funcs).ParseFS(scriptFS, "scripts/*.sh.tmpl"))

// Script renders the node script name ("record" or "soft") for user.
func Script(name, user string) (string, error) {
	var b strings.Builder
	data := struct{ User, Mirror string }{user, MirrorLayout}
	if err := scripts.ExecuteTemplate(&b, name+".sh.tmpl", data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// RunNode runs the node script name on x and returns the fingerprint it
// printed (home directory and image digests).
func RunNode(ctx context.Context, x remote.Executor, name, user string) (string, error) {
	script, err := Script(name, user)
	if err != nil {
		return "", err
	}
	res, err := x.Run(ctx, remote.Command{Line: "bash -euo pipefail -s", Stdin: strings.NewReader(script)})
	if err != nil {
		return "", fmt.Errorf("%s: %s script: %w", x.Name(), name, err)
	}
	return strings.TrimSpace(string(res.Stdout)), nil
}
