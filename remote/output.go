package remote

import (
	"fmt"
	"io"
)

// DefaultMaxOutput is how much of a command's stdout (and of its stderr)
// labctl keeps when the command does not say (Command.MaxOutput).
const DefaultMaxOutput = 16 << 20

// stopOn is closed once the buffer dropped output, for output labctl only
// keeps; output that also streams to a writer (live) is the user's, e.g.
// `labctl exec -- journalctl -f`, and never stops the command.
func (s *syncBuffer) stopOn(live io.Writer) <-chan struct{} {
	if live != nil {
		return nil
	}
	return s.filled()
}

// overflowed says whether a finished command printed more than labctl
// keeps of output it does not stream.
func overflowed(cmd Command, stdout, stderr *syncBuffer) bool {
	return (cmd.Stdout == nil && stdout.cut()) || (cmd.Stderr == nil && stderr.cut())
}

// tooMuch is the error of a command stopped for printing too much.
func tooMuch(host, line string, stdout, stderr *syncBuffer) error {
	which, limit := "stdout", stdout.max
	if !stdout.cut() {
		which = "stderr"
	}
	if limit <= 0 {
		limit = DefaultMaxOutput
	}
	return fmt.Errorf("%s: %q printed more than %d bytes on %s: stopped, its output refused", host, shortLine(line), limit, which)
}
