package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// Conditions Wait reports; test for them with errors.Is.
var (
	// ErrDeadline means the gate did not pass before its deadline.
	ErrDeadline = errors.New("deadline reached")
	// ErrContainerStopped means the target container has exited or is gone,
	// so waiting longer cannot help; Wait gives up at once.
	ErrContainerStopped = errors.New("container stopped")
	// ErrNoHealthcheck means a Docker gate's container has no HEALTHCHECK; Wait gives up at once.
	ErrNoHealthcheck = errors.New("no HEALTHCHECK in the image")
	// ErrUnsupportedTarget means the gate cannot check this target (a
	// Command gate on a URL, a container target without a Dialer); Wait gives up at once.
	ErrUnsupportedTarget = errors.New("gate cannot check this target")
)

// keptAttempts is how many of the last attempts a Result keeps: enough to
// show a pattern in a report, few enough to fit its screen.
const keptAttempts = 5

// Outcome is how a Wait ended.
type Outcome int

// The outcomes of Wait.
const (
	OutcomeNone     Outcome = iota // not run: the gate or target was invalid
	OutcomePassed                  // enough consecutive tries passed
	OutcomeDeadline                // the gate's deadline came first
	OutcomeAborted                 // a try found a failure that waiting cannot fix
	OutcomeCanceled                // the caller's context ended
)

var outcomeNames = [...]string{"not run", "passed", "deadline reached", "aborted", "canceled"}

// String returns the outcome in words: "passed", "deadline reached", ...
func (o Outcome) String() string {
	if o < 0 || int(o) >= len(outcomeNames) {
		return fmt.Sprintf("Outcome(%d)", int(o))
	}
	return outcomeNames[o]
}

// Attempt is one try of a gate.
type Attempt struct {
	Number  int           // 1 for the first try
	At      time.Duration // when the try started, since Wait began
	Passed  bool          // whether the try passed
	Status  string        // what answered, such as "503 Service Unavailable", "exit 1", "health starting", "connected"; "" when nothing did
	Code    int           // the HTTP status code or the command's exit code, when there was one
	Latency time.Duration // how long the try took
	Body    string        // the start of the response body or command output, at most ExcerptLimit bytes
	Err     error         // why the try failed; nil when it passed
}

// Result is what Wait found.
type Result struct {
	Gate          string        // the gate's description, such as "http GET /up (200-399)"
	Target        string        // the target's description
	Outcome       Outcome       // how the wait ended
	Attempts      int           // how many tries were made
	TimeToHealthy time.Duration // from the start of the wait to the pass; zero unless passed
	Elapsed       time.Duration // the whole wait
	Deadline      time.Duration // the gate's deadline
	Last          []Attempt     // the last 5 tries, oldest first
	Err           error         // why the gate did not pass; nil when it did
}

// Passed reports whether the gate passed.
func (r Result) Passed() bool { return r.Outcome == OutcomePassed }

// Wait tries gate against target every Interval, each try bounded by
// Timeout, until Successes consecutive tries pass, the gate's Deadline
// passes, a try finds a failure that waiting cannot fix (ErrContainerStopped,
// ErrNoHealthcheck, ErrUnsupportedTarget) or ctx ends. The error is nil
// exactly when the gate passed; it is Result.Err otherwise, and wraps
// ErrDeadline, the try's error or ctx's error. An invalid gate or target is
// an error before any try. Wait runs in the caller's goroutine and leaves no
// goroutine behind when it returns.
func Wait(ctx context.Context, gate Gate, target Target) (Result, error) {
	res := Result{Gate: gate.String(), Target: target.String()}
	if errs := gate.ValidateAt("health." + gate.Name()); len(errs) > 0 {
		res.Err = fmt.Errorf("invalid health gate: %w", errors.Join(errs...))
		return res, res.Err
	}
	if err := target.check(); err != nil {
		res.Err = err
		return res, err
	}
	p := gate.Policy()
	res.Deadline = p.Deadline

	start := time.Now()
	gctx, cancel := context.WithTimeout(ctx, p.Deadline)
	defer cancel()
	streak := 0
	for {
		tryStart := time.Now()
		a, cut := try(ctx, gctx, gate, target, p)
		// A try the deadline cut short says nothing new; keep the ones before it on show.
		if cut && res.Attempts > 0 {
			a = res.Last[len(res.Last)-1]
		} else {
			res.Attempts++
			a.Number, a.At = res.Attempts, tryStart.Sub(start)
			if len(res.Last) == keptAttempts {
				res.Last = append(res.Last[:0], res.Last[1:]...)
			}
			res.Last = append(res.Last, a)
		}

		if cut {
			// The deadline has come: fall through to report it.
		} else if a.Passed {
			streak++
			if streak >= p.Successes {
				res.Outcome = OutcomePassed
				res.Elapsed = time.Since(start)
				res.TimeToHealthy = res.Elapsed
				return res, nil
			}
		} else {
			streak = 0
			if permanent(a.Err) {
				return res.end(OutcomeAborted, start, a.Err)
			}
		}

		wait := time.Until(tryStart.Add(p.Interval))
		if !cut && gctx.Err() == nil && wait > 0 {
			timer := time.NewTimer(wait)
			select {
			case <-gctx.Done():
			case <-timer.C:
			}
			timer.Stop()
		}
		if gctx.Err() != nil || cut {
			if ctx.Err() != nil {
				return res.end(OutcomeCanceled, start, ctx.Err())
			}
			why := fmt.Errorf("%w (%s); last try: %v", ErrDeadline, p.Deadline, a.Err)
			if a.Passed {
				why = fmt.Errorf("%w (%s) with %d of %d consecutive successes", ErrDeadline, p.Deadline, streak, p.Successes)
			}
			return res.end(OutcomeDeadline, start, why)
		}
	}
}

// try makes one try with its own timeout and says plainly when a timeout
// cut it short; cut reports that the gate's deadline did.
func try(ctx, gctx context.Context, gate Gate, target Target, p Policy) (a Attempt, cut bool) {
	start := time.Now()
	tctx, cancel := context.WithTimeout(gctx, p.Timeout)
	defer cancel()
	a = gate.Try(tctx, target)
	if a.Latency == 0 {
		a.Latency = time.Since(start)
	}
	if a.Passed {
		a.Err = nil
		return a, false
	}
	if a.Err == nil {
		a.Err = errors.New("failed")
	}
	// A connection's deadline, set to the try's, may fire a moment before the context notices.
	if a.Status == "" && (tctx.Err() != nil || timeout(a.Err)) {
		now := time.Now()
		switch {
		case ctx.Err() != nil:
			a.Err = ctx.Err()
		case past(ctx, now):
			a.Err = context.DeadlineExceeded
		case gctx.Err() != nil || past(gctx, now):
			a.Err = fmt.Errorf("cut short by the gate's deadline (%s)", p.Deadline)
			cut = true
		default:
			a.Err = fmt.Errorf("no answer within %s", p.Timeout)
		}
	}
	return a, cut
}

// timeout reports whether err is a connection's or a context's deadline.
func timeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &ne) && ne.Timeout()
}

// past reports whether ctx's deadline, if it has one, has come by now.
func past(ctx context.Context, now time.Time) bool {
	dl, ok := ctx.Deadline()
	return ok && !now.Before(dl)
}

func (r Result) end(o Outcome, start time.Time, cause error) (Result, error) {
	r.Outcome = o
	r.Elapsed = time.Since(start)
	r.Err = fmt.Errorf("health gate %s on %s failed after %s in %s: %w",
		r.Gate, r.Target, plural(r.Attempts, "attempt"), round(r.Elapsed), cause)
	return r, r.Err
}

func permanent(err error) bool {
	return errors.Is(err, ErrContainerStopped) || errors.Is(err, ErrNoHealthcheck) || errors.Is(err, ErrUnsupportedTarget)
}
