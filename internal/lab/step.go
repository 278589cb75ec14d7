package lab

import "time"

// step is one timed step of bringing the lab up (a package install, a
// build, a host): a line when it starts, so that a first run that spends
// minutes in apt-get or go build is never silent, and a line with its
// duration when it ends. Steps that run at once print whole lines.
type step struct {
	opts  Options
	what  string
	start time.Time
}

// begin prints "lab: <what> ..." and starts the step's clock.
func (o Options) begin(what string) *step {
	o.logf("%s ...", what)
	return &step{opts: o, what: what, start: time.Now()}
}

// end prints "lab: <what>: <result> in <duration>", or "FAILED after"
// when err is not nil (the error itself is the caller's to return), and
// returns the step's duration for a summary.
func (s *step) end(result string, err error) time.Duration {
	d := time.Since(s.start)
	if err != nil {
		s.opts.logf("%s: FAILED after %s", s.what, since(s.start))
		return d
	}
	s.opts.logf("%s: %s in %s", s.what, result, since(s.start))
	return d
}
