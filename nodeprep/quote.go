package nodeprep

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"text/template"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
)

// Every value rendered into a node script goes through one of these
// template functions, so none can end a quote, a heredoc or a command:
//
//	q      one shell word, single-quoted (no control characters)
//	plain  a value written into a file or a heredoc as is: letters,
//	       digits and . _ : / @ + = , - ~ only (no "~" first)
//	line   a value without control characters (then q or b64 it)
//	b64    base64, for secrets and multi-line values, decoded on the node
//
// A value they refuse fails the rendering, so nothing reaches the node.
var funcs = template.FuncMap{
	"q":     quote,
	"plain": plain,
	"line":  line,
	"b64":   func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	"guard": func() string { return lab.LoginGuard },
}

// plainRE also takes "~" (package versions: 1.2~rc1), but not first,
// where a shell would expand it to a home directory.
var plainRE = regexp.MustCompile(`^([A-Za-z0-9._:/@+=,-][A-Za-z0-9._:/@+=,~-]*)?$`)

func plain(s string) (string, error) {
	if !plainRE.MatchString(s) {
		return "", fmt.Errorf("%q has characters other than letters, digits and . _ : / @ + = , - ~", s)
	}
	return s, nil
}

func line(s string) (string, error) {
	if i := strings.IndexFunc(s, isControl); i >= 0 {
		return "", fmt.Errorf("%q has a control character at byte %d", s, i)
	}
	return s, nil
}

func quote(s string) (string, error) {
	if _, err := line(s); err != nil {
		return "", err
	}
	return remote.ShellQuote(s), nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
