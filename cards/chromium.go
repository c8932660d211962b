package cards

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// ErrNoChromium means no Chromium or Chrome could be found to make a PDF.
var ErrNoChromium = errors.New(`the pdf format needs Chromium: install it (Debian: apt-get install chromium) or set LABCTL_CHROMIUM to its path; --format html prints from any browser`)

// chromiumPaths are looked at before $PATH (Debian's package puts the
// browser there even when /usr/bin is not on a service's PATH).
var chromiumPaths = []string{"/usr/bin/chromium"}

// FindChromium returns the browser to print with: $LABCTL_CHROMIUM, else the
// first of the usual names found.
func FindChromium() (string, error) {
	if p := os.Getenv("LABCTL_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("LABCTL_CHROMIUM: %w", err)
		}
		return p, nil
	}
	for _, p := range chromiumPaths {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// Browser starts a headless Chromium with a fresh profile that never goes to
// the network on its own, and returns a tab context. cancel stops it and
// removes the profile.
func Browser(ctx context.Context, path string) (context.Context, context.CancelFunc, error) {
	profile, err := os.MkdirTemp("", "labctl-chromium-")
	if err != nil {
		return nil, nil, fmt.Errorf("chromium profile: %w", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // running as root in containers needs it
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tctx, cancelTab := chromedp.NewContext(actx)
	cancel := func() {
		cancelTab()
		cancelAlloc()
		_ = os.RemoveAll(profile)
	}
	if err := chromedp.Do(tctx); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("start %s: %w", path, err)
	}
	return tctx, cancel, nil
}

// Load puts html into the tab and waits until its fonts and images are ready,
// without writing the cards (passwords) to disk.
func Load(ctx context.Context, html []byte) error {
	err := chromedp.Do(ctx,
		chromedp.Navigate("about:blank"),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			tree, err := cdp.Call(ctx, t, page.GetFrameTree, cdp.Empty{})
			if err != nil {
				return err
			}
			_, err = cdp.Call(ctx, t, page.SetDocumentContent, page.SetDocumentContentParams{FrameID: tree.FrameTree.Frame.ID, HTML: string(html)})
			return err
		}),
	)
	if err != nil {
		return err
	}
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`Promise.all([document.fonts.ready].concat(
		Array.from(document.images).map(i => i.decode().catch(() => null)))).then(() => true)`,
		chromedp.EvalAwaitPromise))
	return err
}

// PrintPDF prints the loaded page the way a browser's print dialog would,
// honouring the sheet's @page size.
func PrintPDF(ctx context.Context, p Paper) ([]byte, error) {
	pdf, err := chromedp.Run(ctx, chromedp.PrintToPDF(
		chromedp.PDFPaper(chromedp.PaperSize{Width: p.Width / 25.4, Height: p.Height / 25.4}),
		chromedp.PDFMargin(0),
		chromedp.PDFPreferCSSPageSize(),
		chromedp.PDFPrintBackground(),
	))
	if err != nil {
		return nil, fmt.Errorf("print to PDF: %w", err)
	}
	return pdf, nil
}

// PDF renders the deck's HTML and prints it with Chromium.
func (d *Deck) PDF(ctx context.Context) ([]byte, error) {
	html, err := d.HTML()
	if err != nil {
		return nil, err
	}
	path, err := FindChromium()
	if err != nil {
		return nil, err
	}
	bctx, cancel, err := Browser(ctx, path)
	if err != nil {
		return nil, err
	}
	defer cancel()
	if err := Load(bctx, html); err != nil {
		return nil, fmt.Errorf("load cards in chromium: %w", err)
	}
	return PrintPDF(bctx, d.PaperFor())
}
