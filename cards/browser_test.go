package cards

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/ledongthuc/pdf"
)

// needChromium finds the browser, or skips the test; in CI a missing
// browser fails, so a green CI run means the layout was really checked.
func needChromium(t *testing.T) string {
	t.Helper()
	path, err := FindChromium()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs Chromium for the card layout tests: %v", err)
		}
		t.Skipf("no Chromium: %v", err)
	}
	return path
}

func artifactDir(t *testing.T) string {
	if d := os.Getenv("LABCTL_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

type box struct {
	Top, Bottom, Left, Right float64
	Cluster                  int
	Side                     string
}

type layout struct {
	Sheets []box
	Cards  []box
	Text   string
}

const layoutJS = `(() => {
  const r = e => { const b = e.getBoundingClientRect();
    return {top: b.top + scrollY, bottom: b.bottom + scrollY, left: b.left + scrollX, right: b.right + scrollX}; };
  return {
    sheets: Array.from(document.querySelectorAll('.sheet')).map(r),
    cards: Array.from(document.querySelectorAll('.card[data-cluster]')).map(e =>
      Object.assign(r(e), {cluster: +e.dataset.cluster, side: e.dataset.side})),
    text: document.body.innerText,
  };
})()`

// loadDeck starts Chromium (skipping the test where there is none) with the
// deck's HTML loaded, for at most timeout; the browser stops with the test.
func loadDeck(t *testing.T, d *Deck, timeout time.Duration) context.Context {
	t.Helper()
	path := needChromium(t)
	html, err := d.HTML()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	bctx, stop, err := Browser(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	if err := Load(bctx, html); err != nil {
		t.Fatal(err)
	}
	return bctx
}

// render loads the deck in Chromium with print media emulated, and returns
// the measured layout and the PDF that Chromium prints.
func render(t *testing.T, d *Deck, shot string) (layout, []byte) {
	t.Helper()
	bctx := loadDeck(t, d, 90*time.Second)
	p := d.PaperFor()
	err := chromedp.Do(bctx,
		chromedp.EmulateViewport(int64(math.Ceil(mmToPx(p.Width))), 1000),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
			return err
		}))
	if err != nil {
		t.Fatal(err)
	}
	lay, err := chromedp.Run(bctx, chromedp.Evaluate[layout](layoutJS))
	if err != nil {
		t.Fatal(err)
	}
	if shot != "" {
		png, err := chromedp.Run(bctx, chromedp.ScreenshotScale(chromedp.CSS(".sheet"), 2))
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(artifactDir(t), shot)
		if err := os.WriteFile(file, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot of page 1: %s", file)
	}
	pdfBytes, err := PrintPDF(bctx, p)
	if err != nil {
		t.Fatal(err)
	}
	return lay, pdfBytes
}

func mmToPx(mm float64) float64 { return mm * 96 / 25.4 }

// checkPages asserts the print layout: sheets of exactly the paper's height
// stacked one per page, and every card inside one sheet.
func checkPages(t *testing.T, lay layout, p Paper, wantPages int) {
	t.Helper()
	pageH := mmToPx(p.Height)
	if len(lay.Sheets) != wantPages {
		t.Fatalf("%d sheets, want %d", len(lay.Sheets), wantPages)
	}
	for i, s := range lay.Sheets {
		if math.Abs(s.Top-float64(i)*pageH) > 1 || math.Abs(s.Bottom-float64(i+1)*pageH) > 1 {
			t.Errorf("sheet %d spans %.1f..%.1f px, want page %.1f..%.1f", i+1, s.Top, s.Bottom, float64(i)*pageH, float64(i+1)*pageH)
		}
	}
	for _, c := range lay.Cards {
		page := int(math.Floor((c.Top + 0.5) / pageH))
		if c.Top < float64(page)*pageH-0.5 || c.Bottom > float64(page+1)*pageH+0.5 {
			t.Errorf("cluster %d %s card (%.1f..%.1f px) crosses a page boundary (page height %.1f px)", c.Cluster, c.Side, c.Top, c.Bottom, pageH)
		}
	}
}

var ipRE = regexp.MustCompile(`203\.0\.113\.\d+`)

// containsWord reports whether s has w not glued to more digits or letters.
func containsWord(s, w string) bool {
	return regexp.MustCompile(`(^|[^0-9A-Za-z.])` + regexp.QuoteMeta(w) + `($|[^0-9A-Za-z])`).MatchString(s)
}

func pdfPages(t *testing.T, data []byte) []string {
	t.Helper()
	r, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("read PDF: %v", err)
	}
	var pages []string
	for i := 1; i <= r.NumPage(); i++ {
		pg := r.Page(i)
		var b strings.Builder
		rows, err := pg.GetTextByRow()
		if err != nil {
			t.Fatalf("PDF page %d: %v", i, err)
		}
		for _, row := range rows {
			for _, w := range row.Content {
				b.WriteString(w.S)
			}
			b.WriteByte('\n')
		}
		pages = append(pages, b.String())
	}
	return pages
}

func TestHTMLPrintLayout(t *testing.T) {
	for _, paper := range []string{"Letter", "A4"} {
		t.Run(paper, func(t *testing.T) {
			s := testState(23, 4)
			d, err := Build(testLab(t, labYAML(fmt.Sprintf("cards: {paper: %s, event: \"Kubernetes 101 — Paris\", qr: slides}", paper))), s, "")
			if err != nil {
				t.Fatal(err)
			}
			lay, pdfBytes := render(t, d, "cards-"+strings.ToLower(paper)+"-page1.png")
			checkPages(t, lay, d.PaperFor(), 3)
			if len(lay.Cards) != 23 {
				t.Errorf("%d cards in the page, want 23", len(lay.Cards))
			}
			for _, c := range s.Clusters {
				if !strings.Contains(lay.Text, c.Login.Password) {
					t.Errorf("page text lacks cluster %d's password", c.Index)
				}
				for _, n := range c.Nodes {
					if !containsWord(lay.Text, n.PublicAddress) {
						t.Errorf("page text lacks %s", n.PublicAddress)
					}
				}
			}
			pages := pdfPages(t, pdfBytes)
			if len(pages) != 3 {
				t.Fatalf("PDF has %d pages, want 3", len(pages))
			}
			// Each page holds exactly its ten clusters: no card split or moved.
			for i, c := range s.Clusters {
				page := i / PerPage
				for p, text := range pages {
					if has := strings.Contains(text, c.Login.Password); has != (p == page) {
						t.Errorf("PDF page %d: password of cluster %d present=%v, want %v", p+1, c.Index, has, p == page)
					}
				}
				if ips := ipRE.FindAllString(pages[page], -1); !containsAll(ips, c.Nodes[0].PublicAddress, c.Nodes[3].PublicAddress) {
					t.Errorf("PDF page %d lacks cluster %d's node addresses", page+1, c.Index)
				}
			}
		})
	}
}

func containsAll(have []string, want ...string) bool {
	set := map[string]bool{}
	for _, h := range have {
		set[h] = true
	}
	for _, w := range want {
		if !set[w] {
			return false
		}
	}
	return true
}

// TestBackAlignsWithFront checks duplex printing: each back page follows its
// front page, and a card's back is the mirror image of its front's place, so
// paper flipped on its long edge puts one behind the other.
func TestBackAlignsWithFront(t *testing.T) {
	s := testState(13, 3)
	d, err := Build(testLab(t, labYAML("cards: {paper: A4, back: true}")), s, "")
	if err != nil {
		t.Fatal(err)
	}
	lay, pdfBytes := render(t, d, "")
	p := d.PaperFor()
	checkPages(t, lay, p, 4)
	pageH, pageW := mmToPx(p.Height), mmToPx(p.Width)
	front, back := map[int]box{}, map[int]box{}
	for _, c := range lay.Cards {
		if c.Side == "front" {
			front[c.Cluster] = c
		} else {
			back[c.Cluster] = c
		}
	}
	if len(front) != 13 || len(back) != 13 {
		t.Fatalf("%d fronts and %d backs, want 13 each", len(front), len(back))
	}
	for n, f := range front {
		b := back[n]
		if math.Abs((b.Top-pageH)-f.Top) > 0.5 {
			t.Errorf("cluster %d: back at %.1f px, want one page below its front at %.1f px", n, b.Top, f.Top)
		}
		if math.Abs(b.Left-(pageW-f.Right)) > 0.5 {
			t.Errorf("cluster %d: back left edge %.1f px, want %.1f (mirror of front %.1f..%.1f)", n, b.Left, pageW-f.Right, f.Left, f.Right)
		}
	}
	if pages := pdfPages(t, pdfBytes); len(pages) != 4 {
		t.Errorf("PDF has %d pages, want 4", len(pages))
	}
}

// TestWritePDF is `labctl cards --format pdf,csv`: private files, and a PDF
// of three pages holding every password.
func TestWritePDF(t *testing.T) {
	needChromium(t)
	s := testState(23, 4)
	d, err := Build(testLab(t, labYAML("cards: {paper: A4, qr: attendee, qrURL: \"https://lab.example/{{.Cluster}}\"}")), s, "")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "cards")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	paths, err := d.Write(ctx, []string{"pdf", "csv"}, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 2 || filepath.Base(paths[0]) != "cards.pdf" || filepath.Base(paths[1]) != "cards.csv" {
		t.Fatalf("wrote %v", paths)
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600 (it holds passwords)", p, fi.Mode().Perm())
		}
	}
	data, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	pages := pdfPages(t, data)
	if len(pages) != 3 {
		t.Fatalf("PDF has %d pages, want 3", len(pages))
	}
	all := strings.Join(pages, "\n")
	for _, c := range s.Clusters {
		if !strings.Contains(all, c.Login.Password) {
			t.Errorf("PDF text lacks cluster %d's password", c.Index)
		}
	}
}
