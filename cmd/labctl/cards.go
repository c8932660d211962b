package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/cards"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision/kind"
)

// pdfTimeout bounds Chromium's start, layout and print.
const pdfTimeout = 2 * time.Minute

func newCardsCmd(a *app) *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "cards",
		Short: "Write the attendees' access cards: HTML to print, PDF, CSV claim sheet, JSON, text",
		Long: `Write one access card per attendee cluster: login, password, node addresses,
the ssh command and the slides URL. Available once provisioning has recorded
the clusters' addresses and logins.

The files hold passwords: they are written readable by their owner only.
--format pdf prints the HTML with Chromium (install the chromium package).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.jsonOut && !cmd.Flags().Changed("format") {
				format = "json"
			}
			formats, err := cards.ParseFormats(format)
			if err != nil {
				return usageError{err}
			}
			l, s, err := a.readState()
			if err != nil {
				return err
			}
			deck, err := a.deck(l, s)
			if err != nil {
				return err
			}
			deck.HideSecrets = !a.showSecrets
			if deck.HideSecrets && slices.Contains(formats, "json") {
				fmt.Fprintln(a.errOut, "labctl: the JSON cards leave the passwords out; pass --show-secrets to include them")
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), pdfTimeout)
			defer cancel()
			paths, err := deck.Write(ctx, formats, out, a.out)
			if errors.Is(err, cards.ErrNoChromium) {
				return fmt.Errorf("%w: %w", errUnavailable, err)
			}
			if err != nil {
				return err
			}
			for _, p := range paths {
				a.printf("wrote %s (%d cards)\n", p, len(deck.Cards))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "html", "html, pdf, csv, json or text; several separated by commas")
	f.StringVarP(&out, "output", "o", "cards", "directory for cards.html, cards.pdf, cards.csv, cards.json, cards.txt; - for stdout")
	return cmd
}

// deck builds the cards of the lab's state: one per attendee, on the
// cluster that serves them, then the spares; kind cards connect with the
// kubeconfig written next to them.
func (a *app) deck(l *lab.Lab, s *lab.State) (*cards.Deck, error) {
	deck, err := cards.Build(l, s, filepath.Dir(a.file))
	switch {
	case errors.Is(err, cards.ErrNotReady):
		return nil, fmt.Errorf("%w: %w", errUnavailable, err)
	case err != nil:
		return nil, usageError{err}
	}
	if l.Provider.Type == "kind" {
		dir, err := a.dir(l)
		if err != nil {
			return nil, err
		}
		if err := deck.UseKubeconfigs(func(c int) string { return kind.KubeconfigPath(dir, c) }); err != nil {
			if errors.Is(err, cards.ErrNotReady) {
				return nil, fmt.Errorf("%w: %w", errUnavailable, err)
			}
			return nil, err
		}
	}
	return deck, nil
}
