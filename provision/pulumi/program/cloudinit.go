package program

import (
	"bytes"
	"embed"
	"strings"
	"text/template"
)

// cloudInitFS holds each cloud node's user data: labctl's login key, and
// the SSH host key the program generated, so labctl pins it from the
// stack's outputs.
//
//go:embed cloud-init.yaml.tmpl
var cloudInitFS embed.FS

var cloudInit = template.Must(template.New("cloud-init.yaml.tmpl").Funcs(template.FuncMap{
	"indent": func(n int, s string) string {
		pad := strings.Repeat(" ", n)
		return pad + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pad)
	},
}).ParseFS(cloudInitFS, "cloud-init.yaml.tmpl"))

// cloudInitData is one node's user data.
type cloudInitData struct {
	Label          string // "01/node1"
	AuthorizedKey  string
	HostPrivateKey string // OpenSSH format
	HostPublicKey  string
}

func renderCloudInit(d cloudInitData) (string, error) {
	var b bytes.Buffer
	if err := cloudInit.Execute(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}
