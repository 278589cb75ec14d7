package image

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// TerminalWriter is an output that says whether it is a terminal. A
// writer that wraps one (deploy's redacting output, say) implements it so
// that Build draws a spinner and Deliver its bars there; an *os.File is
// asked directly.
type TerminalWriter interface {
	io.Writer
	IsTerminal() bool
}

// phase is one timed part of a build that can take a minute (a go build,
// a Dockerfile build): on a terminal a spinner with the elapsed time,
// redrawn in place; otherwise a plain line as it starts. Either way a
// line with its duration when it ends, so a CI log reads
//
//	go build ./cmd/hello for linux/amd64
//	go build ./cmd/hello for linux/amd64: compiled in 41.20s
type phase struct {
	w     io.Writer
	what  string
	start time.Time
	mp    *mpb.Progress // nil off a terminal
	bar   *mpb.Bar

	once sync.Once
}

func startPhase(w io.Writer, what string) *phase {
	p := &phase{w: w, what: what, start: time.Now()}
	if w == io.Discard {
		return p
	}
	if !isTerminal(w) {
		fmt.Fprintf(w, "%s\n", what)
		return p
	}
	p.mp = mpb.New(mpb.WithOutput(w), mpb.ForceTTY(), mpb.WithAutoRefresh(), mpb.WithRefreshRate(progressInterval))
	p.bar = p.mp.New(0, mpb.SpinnerStyle().PositionLeft(),
		mpb.PrependDecorators(decor.Name(what+" ")),
		mpb.AppendDecorators(decor.Elapsed(decor.ET_STYLE_GO)),
		mpb.BarFillerClearOnComplete(),
	)
	return p
}

// output is where the phase's own output goes while it runs: above the
// spinner on a terminal, so the two do not overwrite each other.
func (p *phase) output() io.Writer {
	if p.mp != nil {
		return p.mp
	}
	return p.w
}

// end stops the spinner and prints "<what>: <result> in 1.23s", or
// "<what>: FAILED after 1.23s" when err is not nil (the error is the
// caller's to return). It returns the phase's duration.
func (p *phase) end(result string, err error) time.Duration {
	d := time.Since(p.start)
	p.once.Do(func() {
		if p.mp != nil {
			p.bar.Abort(true) // drop the spinner's line; the end line replaces it
			p.mp.Wait()
		}
		if p.w == io.Discard {
			return
		}
		if err != nil {
			fmt.Fprintf(p.w, "%s: FAILED after %s\n", p.what, seconds(d))
			return
		}
		fmt.Fprintf(p.w, "%s: %s in %s\n", p.what, result, seconds(d))
	})
	return d
}

// seconds is a phase's duration as the deploy's step lines print one.
func seconds(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }
