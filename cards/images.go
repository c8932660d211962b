package cards

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/labctl/labctl/lab"
)

// maxLogo bounds the logo: it is copied into every card of the HTML file.
const maxLogo = 1 << 20

// logoURI reads an image file into a data URI.
func logoURI(path string) (string, error) {
	data, err := lab.ReadSmallFile(path, maxLogo)
	if err != nil {
		return "", fmt.Errorf("cards.logo: %s: %w", path, unwrapPath(err))
	}
	mime := http.DetectContentType(data)
	if strings.EqualFold(filepath.Ext(path), ".svg") {
		mime = "image/svg+xml"
	}
	switch mime {
	case "image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml":
	default:
		return "", fmt.Errorf("cards.logo: %s is not a PNG, JPEG, GIF, WebP or SVG image", path)
	}
	return "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(data), nil
}

// qrSVG encodes content as a QR code drawn in SVG, so it stays sharp at any
// print resolution. The quiet zone is left to the layout.
func qrSVG(content string) (string, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return "", fmt.Errorf("QR code for %q: %w", content, err)
	}
	q.DisableBorder = true
	bits := q.Bitmap()
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges"><path fill="#000" d="`, len(bits), len(bits))
	for y, row := range bits {
		// One rectangle per run of dark modules keeps the path short.
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", start, y, x-start, x-start)
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String(), nil
}

// qrURI is qrSVG as a data URI for an <img>.
func qrURI(content string) (string, error) {
	svg, err := qrSVG(content)
	if err != nil {
		return "", err
	}
	return "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(svg)), nil
}

// unwrapPath drops the operation and path from an *fs.PathError: the
// message names the path once, with the field.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
