package cards

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const overflowJS = `(() => {
  const bad = [];
  for (const card of document.querySelectorAll('.card[data-cluster]')) {
    const c = card.getBoundingClientRect();
    for (const e of card.querySelectorAll('*')) {
      const r = e.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.left < c.left - 0.5 || r.right > c.right + 0.5 || r.top < c.top - 0.5 || r.bottom > c.bottom + 0.5) {
        bad.push(card.dataset.side + ' ' + card.dataset.cluster + ': ' + e.className + ' ' + e.tagName + ' outside the card');
      }
    }
    // The blocks of a card follow one another without overlapping.
    let prev = null;
    for (const e of card.querySelectorAll(':scope > .band, :scope > .body, :scope > .nodes, :scope > .foot')) {
      const r = e.getBoundingClientRect();
      if (prev && r.top < prev.bottom - 0.5) bad.push(card.dataset.side + ' ' + card.dataset.cluster + ': ' + e.className + ' overlaps the block above it');
      prev = r;
    }
    for (const e of card.querySelectorAll('.v, li, .foot')) {
      if (e.scrollWidth > e.clientWidth + 1) bad.push(card.dataset.side + ' ' + card.dataset.cluster + ': "' + e.textContent.trim() + '" is cut');
    }
  }
  return bad;
})()`

// TestWorstCaseCardFits fills a card with the most it can hold: ten nodes,
// a non-standard port, a logo, a QR code and a long event name. Nothing may
// spill out of the card or be cut short except the event name.
func TestWorstCaseCardFits(t *testing.T) {
	needChromium(t)
	dir := t.TempDir()
	logo := filepath.Join(dir, "logo.svg")
	svg := `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 20"><rect width="40" height="20" rx="4" fill="#326ce5"/><text x="20" y="14" font-size="10" text-anchor="middle" fill="#fff">K8s</text></svg>`
	if err := os.WriteFile(logo, []byte(svg), 0o644); err != nil {
		t.Fatal(err)
	}
	s := testState(3, 10)
	for i := range s.Clusters {
		s.Clusters[i].Nodes[0].Port = 10022
	}
	l := testLab(t, labYAML(`cards:
  event: "Deploying and Scaling Microservices with Kubernetes — Paris, March 2026"
  logo: logo.svg
  qr: attendee
  qrURL: "https://training.example.com/attendees/{{.Cluster}}/welcome"
  back: true
`))
	d, err := Build(l, s, dir)
	if err != nil {
		t.Fatal(err)
	}
	bctx := loadDeck(t, d, 60*time.Second)
	bad, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](overflowJS))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Error(b)
	}
	for i, sel := range []string{`.card[data-cluster="1"][data-side="front"]`, `.card[data-cluster="1"][data-side="back"]`} {
		png, err := chromedp.Run(bctx, chromedp.ScreenshotScale(chromedp.CSS(sel), 3))
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(artifactDir(t), fmt.Sprintf("card-worst-case-%s.png", []string{"front", "back"}[i]))
		if err := os.WriteFile(file, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", file)
	}
}
