package cards

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"

	"github.com/labctl/labctl/lab"
)

// layout is the HTML sheet `labctl cards` prints (and Chromium turns
// into the PDF), unless the lab file names its own (cards.template).
//
//go:embed card.html.tmpl
var cardLayout embed.FS

// maxTemplate bounds the lab's own card template.
const maxTemplate = 1 << 20

// The sheet: credit-card sized cards, 2 columns by 5 rows, centred on the
// page. 10 cards fit both Letter and A4 with room for cut marks.
const (
	CardWidthMM  = 85.6
	CardHeightMM = 54.0
	Columns      = 2
	Rows         = 5
	PerPage      = Columns * Rows
)

// Paper is a page size in millimetres, with its CSS @page name.
type Paper struct {
	Name          string
	Width, Height float64
}

// Papers are the sizes cards.paper accepts.
var Papers = map[string]Paper{
	"Letter": {Name: "letter", Width: 215.9, Height: 279.4},
	"A4":     {Name: "A4", Width: 210, Height: 297},
}

// PaperFor returns the deck's paper (Letter when unknown).
func (d *Deck) PaperFor() Paper {
	if p, ok := Papers[d.Paper]; ok {
		return p
	}
	return Papers["Letter"]
}

// sheetView is what the HTML template sees.
type sheetView struct {
	Title  string
	Event  string
	URL    string
	Logo   template.URL
	Text   Text
	Paper  Paper
	QR     string
	Seated bool
	Grid   template.CSS // position of the card grid on a page
	Marks  []template.CSS
	Pages  []pageView
	Sheets int
}

type pageView struct {
	Number int
	Back   bool
	Slots  []*cardView // nil for an empty place on the page
}

type cardView struct {
	Card
	QRImage template.URL
	Slot    int
}

// HTML renders the print sheet: every front page, each followed by its back
// page when the deck has backs.
func (d *Deck) HTML() ([]byte, error) {
	t, err := d.loadTemplate()
	if err != nil {
		return nil, err
	}
	v, err := d.view()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("cards template: %w", err)
	}
	return b.Bytes(), nil
}

func (d *Deck) loadTemplate() (*template.Template, error) {
	if d.template != "" {
		src, err := lab.ReadSmallFile(d.template, maxTemplate)
		if err != nil {
			return nil, fmt.Errorf("cards.template: %s: %w", d.template, unwrapPath(err))
		}
		t, err := template.New("card.html.tmpl").Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("cards.template %s: %w", d.template, err)
		}
		return t, nil
	}
	return template.ParseFS(cardLayout, "card.html.tmpl")
}

func (d *Deck) view() (*sheetView, error) {
	p := d.PaperFor()
	v := &sheetView{
		Title:  d.Text["documentTitle"] + " — " + d.Event,
		Event:  d.Event,
		URL:    d.URL,
		Logo:   template.URL(d.Logo), // built by logoURI: a data URI of a checked image type
		Text:   d.Text,
		Paper:  p,
		QR:     d.QR,
		Seated: d.Seated,
	}
	gridW, gridH := Columns*CardWidthMM, Rows*CardHeightMM
	left, top := (p.Width-gridW)/2, (p.Height-gridH)/2
	v.Grid = css("left:%.2fmm;top:%.2fmm;width:%.2fmm;height:%.2fmm", left, top, gridW, gridH)
	v.Marks = cutMarks(left, top, gridW, gridH)

	views := make([]*cardView, len(d.Cards))
	for i, c := range d.Cards {
		views[i] = &cardView{Card: c, Slot: i % PerPage}
		if c.QRURL != "" {
			uri, err := qrURI(c.QRURL)
			if err != nil {
				return nil, err
			}
			views[i].QRImage = template.URL(uri) // our own SVG
		}
	}
	for start := 0; start < len(views); start += PerPage {
		front := make([]*cardView, PerPage)
		copy(front, views[start:min(start+PerPage, len(views))])
		v.Pages = append(v.Pages, pageView{Slots: front})
		if d.Back {
			v.Pages = append(v.Pages, pageView{Back: true, Slots: mirror(front)})
		}
	}
	for i := range v.Pages {
		v.Pages[i].Number = i + 1
	}
	v.Sheets = len(v.Pages)
	return v, nil
}

// mirror swaps the columns of each row: printed long-edge duplex, the back
// of the card in the left column lands behind the right column's place.
func mirror(front []*cardView) []*cardView {
	back := make([]*cardView, len(front))
	for i, c := range front {
		row, col := i/Columns, i%Columns
		back[row*Columns+(Columns-1-col)] = c
	}
	return back
}

// cutMarks are hairline ticks in the page margin on the line of every card
// edge, so a guillotine or scissors can follow them.
func cutMarks(left, top, w, h float64) []template.CSS {
	const gap, maxLen, minLen = 1.0, 5.0, 1.0
	var marks []template.CSS
	if l := min(maxLen, top-gap-0.5); l >= minLen {
		for c := 0; c <= Columns; c++ {
			x := left + float64(c)*CardWidthMM
			marks = append(marks,
				css("left:%.2fmm;top:%.2fmm;height:%.2fmm;width:0;border-left:0.2mm solid #000", x-0.1, top-gap-l, l),
				css("left:%.2fmm;top:%.2fmm;height:%.2fmm;width:0;border-left:0.2mm solid #000", x-0.1, top+h+gap, l))
		}
	}
	if l := min(maxLen, left-gap-0.5); l >= minLen {
		for r := 0; r <= Rows; r++ {
			y := top + float64(r)*CardHeightMM
			marks = append(marks,
				css("top:%.2fmm;left:%.2fmm;width:%.2fmm;height:0;border-top:0.2mm solid #000", y-0.1, left-gap-l, l),
				css("top:%.2fmm;left:%.2fmm;width:%.2fmm;height:0;border-top:0.2mm solid #000", y-0.1, left+w+gap, l))
		}
	}
	return marks
}

// css formats numbers only, so the result is safe as a style attribute.
func css(format string, a ...any) template.CSS {
	return template.CSS(fmt.Sprintf(format, a...))
}
